//! STUN: parse + verify an ICE Binding Request, and build + sign one; and the same round as the
//! ICE agent does it (`ice check`), with the MESSAGE-INTEGRITY key prepared once per
//! credentials (what the agent does since issue 17) or keyed from the password per message
//! (what it did before), beside webrtc-rs's stun crate doing the same work.
//!
//! `cargo bench -p ferrtc-benches --bench stun -- cpu` runs the parse+verify and build+sign
//! groups' bodies (the same functions the criterion groups call) in thread CPU time instead
//! (CLOCK_THREAD_CPUTIME_ID: time spent descheduled on a shared machine does not count), the
//! implementations interleaved, best of 30 rounds x 100,000 calls. `-- cpu parse` keeps only
//! the rows whose `group:implementation` contains `parse`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, Criterion};
use std::hint::black_box;

const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
const USERNAME: &str = "evtj:h6vY";
const TID: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];
const PRIORITY: u32 = 0x6e00_01ff;
const TIEBREAKER: u64 = 0x932f_f9b1_5126_3b36;

/// USERNAME (9 B) + PRIORITY + ICE-CONTROLLING + USE-CANDIDATE + MESSAGE-INTEGRITY +
/// FINGERPRINT = 92 bytes.
fn ferrtc_build(key: &ferrtc_stun::IntegrityKey, buf: BytesMut) -> BytesMut {
    use ferrtc_stun::*;
    let mut b = MessageBuilder::with_buffer(
        buf,
        MessageType::new(Method::BINDING, Class::Request),
        TransactionId(TID),
    );
    b.add(&Attribute::Username(Text::from_static(USERNAME)))
        .unwrap()
        .add(&Attribute::Priority(PRIORITY))
        .unwrap()
        .add(&Attribute::IceControlling(TIEBREAKER))
        .unwrap()
        .add(&Attribute::UseCandidate)
        .unwrap()
        .add_message_integrity(key)
        .unwrap()
        .add_fingerprint()
        .unwrap();
    b.finish()
}

// The bodies of the parse+verify and build+sign groups, one function per side, called by the
// criterion closures and by `-- cpu` (always inlined: the criterion loop compiles as if written
// inline). Every side parses the same 92 bytes, checks FINGERPRINT and MESSAGE-INTEGRITY and
// reads USERNAME, PRIORITY, ICE-CONTROLLING and USE-CANDIDATE; or builds those bytes.

#[inline(always)]
fn parse_ferrtc(packet: &Bytes, key: &ferrtc_stun::IntegrityKey) {
    let m = ferrtc_stun::Message::parse(black_box(packet.clone())).unwrap();
    assert!(m.has_fingerprint());
    let a = m.verify_integrity(key).unwrap();
    black_box((
        a.username().unwrap(),
        a.priority().unwrap(),
        a.ice_controlling().unwrap(),
        a.use_candidate(),
    ));
}

/// What the other stacks do: the HMAC keyed from the password for every message.
#[inline(always)]
fn parse_ferrtc_per_message(packet: &Bytes) {
    let key = ferrtc_stun::IntegrityKey::short_term(black_box(PASSWORD)).unwrap();
    parse_ferrtc(packet, &key)
}

#[inline(always)]
fn parse_rtc(
    m: &mut rtc_stun::message::Message,
    packet: &[u8],
    crypto: &dyn rtc_stun::crypto::RTCCrypto,
) {
    use rtc_stun::attributes::*;
    use rtc_stun::fingerprint::FINGERPRINT;
    use rtc_stun::integrity::MessageIntegrity;
    use rtc_stun::textattrs::TextAttribute;
    m.raw.clear();
    m.raw.extend_from_slice(black_box(packet));
    m.decode().unwrap();
    FINGERPRINT.check(m).unwrap();
    MessageIntegrity::check(m, PASSWORD.as_bytes(), crypto).unwrap();
    let u = TextAttribute::get_from_as(m, ATTR_USERNAME).unwrap();
    let p = m.get(ATTR_PRIORITY).unwrap();
    let t = m.get(ATTR_ICE_CONTROLLING).unwrap();
    black_box((
        u,
        u32::from_be_bytes(p[..4].try_into().unwrap()),
        u64::from_be_bytes(t[..8].try_into().unwrap()),
        m.contains(ATTR_USE_CANDIDATE),
    ));
}

#[inline(always)]
fn parse_webrtc(
    m: &mut webrtc_stun::message::Message,
    packet: &[u8],
    integrity: &webrtc_stun::integrity::MessageIntegrity,
) {
    use webrtc_stun::attributes::*;
    use webrtc_stun::fingerprint::FINGERPRINT;
    use webrtc_stun::textattrs::TextAttribute;
    m.raw.clear();
    m.raw.extend_from_slice(black_box(packet));
    m.decode().unwrap();
    FINGERPRINT.check(m).unwrap();
    integrity.check(m).unwrap();
    let u = TextAttribute::get_from_as(m, ATTR_USERNAME).unwrap();
    let p = m.get(ATTR_PRIORITY).unwrap();
    let t = m.get(ATTR_ICE_CONTROLLING).unwrap();
    black_box((
        u,
        u32::from_be_bytes(p[..4].try_into().unwrap()),
        u64::from_be_bytes(t[..8].try_into().unwrap()),
        m.contains(ATTR_USE_CANDIDATE),
    ));
}

#[inline(always)]
fn build_ferrtc(key: &ferrtc_stun::IntegrityKey, buf: &mut Option<BytesMut>) {
    let out = ferrtc_build(key, buf.take().unwrap());
    black_box(&out[..]);
    *buf = Some(out);
}

#[inline(always)]
fn build_ferrtc_per_message(buf: &mut Option<BytesMut>) {
    let key = ferrtc_stun::IntegrityKey::short_term(black_box(PASSWORD)).unwrap();
    build_ferrtc(&key, buf)
}

#[inline(always)]
fn build_rtc(
    m: &mut rtc_stun::message::Message,
    integrity: &rtc_stun::integrity::MessageIntegrity<'_>,
) {
    use rtc_stun::attributes::*;
    use rtc_stun::fingerprint::FINGERPRINT;
    use rtc_stun::message::{Setter, TransactionId, BINDING_REQUEST};
    m.reset();
    m.typ = BINDING_REQUEST;
    m.transaction_id = TransactionId(TID);
    m.write_header();
    m.add(ATTR_USERNAME, black_box(USERNAME).as_bytes());
    m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
    m.add(ATTR_ICE_CONTROLLING, &TIEBREAKER.to_be_bytes());
    m.add(ATTR_USE_CANDIDATE, &[]);
    integrity.add_to(m).unwrap();
    FINGERPRINT.add_to(m).unwrap();
    black_box(&m.raw[..]);
}

#[inline(always)]
fn build_webrtc(
    m: &mut webrtc_stun::message::Message,
    integrity: &webrtc_stun::integrity::MessageIntegrity,
) {
    use webrtc_stun::agent::TransactionId;
    use webrtc_stun::attributes::*;
    use webrtc_stun::fingerprint::FINGERPRINT;
    use webrtc_stun::message::{Setter, BINDING_REQUEST};
    m.reset();
    m.typ = BINDING_REQUEST;
    m.transaction_id = TransactionId(TID);
    m.write_header();
    m.add(ATTR_USERNAME, black_box(USERNAME).as_bytes());
    m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
    m.add(ATTR_ICE_CONTROLLING, &TIEBREAKER.to_be_bytes());
    m.add(ATTR_USE_CANDIDATE, &[]);
    integrity.add_to(m).unwrap();
    FINGERPRINT.add_to(m).unwrap();
    black_box(&m.raw[..]);
}

/// The inputs of the two groups, with every side checked once to build the same bytes and
/// accept them.
struct Inputs {
    key: ferrtc_stun::IntegrityKey,
    packet: Bytes,
    packet_vec: Vec<u8>,
    rtc_provider: std::sync::Arc<dyn rtc_stun::crypto::RTCCryptoProvider>,
    webrtc_integrity: webrtc_stun::integrity::MessageIntegrity,
}

/// rtc 0.21's integrity attribute borrows its crypto provider.
fn rtc_integrity(i: &Inputs) -> rtc_stun::integrity::MessageIntegrity<'_> {
    rtc_stun::integrity::MessageIntegrity::new_short_term_integrity_with_provider(
        PASSWORD.to_string(),
        i.rtc_provider.crypto(),
    )
}

fn inputs() -> Inputs {
    let key = ferrtc_stun::IntegrityKey::short_term(PASSWORD).unwrap();
    let packet: Bytes = ferrtc_build(&key, BytesMut::new()).freeze();
    assert_eq!(packet.len(), 92);
    let packet_vec = packet.to_vec();
    let rtc_provider = rtc_stun::crypto::default_provider().unwrap();
    let webrtc_integrity =
        webrtc_stun::integrity::MessageIntegrity::new_short_term_integrity(PASSWORD.to_string());
    let i = Inputs {
        key,
        packet,
        packet_vec,
        rtc_provider,
        webrtc_integrity,
    };
    let mut m = rtc_stun::message::Message::new();
    build_rtc(&mut m, &rtc_integrity(&i));
    assert_eq!(m.raw, i.packet_vec, "rtc-stun builds the same bytes");
    parse_rtc(&mut m, &i.packet_vec, i.rtc_provider.crypto());
    let mut m = webrtc_stun::message::Message::new();
    build_webrtc(&mut m, &i.webrtc_integrity);
    assert_eq!(m.raw, i.packet_vec, "webrtc-rs stun builds the same bytes");
    parse_webrtc(&mut m, &i.packet_vec, &i.webrtc_integrity);
    parse_ferrtc(&i.packet, &i.key);
    i
}

fn bench_parse(c: &mut Criterion) {
    let i = inputs();
    let mut g = c.benchmark_group("stun/parse+verify binding request 92B");
    // What the other stacks do: the HMAC keyed from the password for every message.
    g.bench_function("ferrtc, key from the password per message", |b| {
        b.iter(|| parse_ferrtc_per_message(&i.packet))
    });
    // What the ICE agent does: the key prepared once per remote credentials.
    g.bench_function("ferrtc, key prepared once", |b| {
        b.iter(|| parse_ferrtc(&i.packet, &i.key))
    });
    let crypto = i.rtc_provider.crypto();
    let mut m = rtc_stun::message::Message::new();
    g.bench_function("rtc 0.21", |b| {
        b.iter(|| parse_rtc(&mut m, &i.packet_vec, crypto))
    });
    let mut m = webrtc_stun::message::Message::new();
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter(|| parse_webrtc(&mut m, &i.packet_vec, &i.webrtc_integrity))
    });
    g.finish();
}

fn bench_build(c: &mut Criterion) {
    let i = inputs();
    let mut g = c.benchmark_group("stun/build+sign binding request");
    let mut buf = Some(BytesMut::with_capacity(128));
    g.bench_function("ferrtc, key from the password per message", |b| {
        b.iter(|| build_ferrtc_per_message(&mut buf))
    });
    g.bench_function("ferrtc, key prepared once", |b| {
        b.iter(|| build_ferrtc(&i.key, &mut buf))
    });
    let rtc_int = rtc_integrity(&i);
    let mut m = rtc_stun::message::Message::new();
    g.bench_function("rtc 0.21", |b| b.iter(|| build_rtc(&mut m, &rtc_int)));
    let mut m = webrtc_stun::message::Message::new();
    g.bench_function("webrtc-rs 0.17", |b| {
        b.iter(|| build_webrtc(&mut m, &i.webrtc_integrity))
    });
    g.finish();
}

/// One ICE connectivity check's STUN work on both ends, as each agent does it: the sender
/// builds a Binding request (USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
/// MESSAGE-INTEGRITY, FINGERPRINT) and the receiver parses it, checks FINGERPRINT and
/// MESSAGE-INTEGRITY and reads the four ICE attributes. Both sides produce the same 92 bytes.
fn bench_ice_check(c: &mut Criterion) {
    use ferrtc_ice::stun::{integrity_key, Builder, Class, Message, BINDING};
    let ice_build = |key: Option<&ferrtc_ice::stun::IntegrityKey>, pwd: Option<&[u8]>| {
        let mut b = Builder::new(Class::Request, BINDING, &TID);
        b.username(black_box(USERNAME))
            .priority(PRIORITY)
            .role(true, TIEBREAKER)
            .use_candidate();
        match key {
            Some(k) => b.finish_with(Some(k)),
            None => b.finish(pwd),
        }
    };
    let read = |m: &Message| {
        black_box((
            m.username.as_ref().unwrap().len(),
            m.priority.unwrap(),
            m.ice_controlling.unwrap(),
            m.use_candidate,
        ));
    };
    let key = integrity_key(PASSWORD.as_bytes()).unwrap();
    let reference = ice_build(Some(&key), None);
    assert_eq!(reference.len(), 92);
    assert_eq!(
        ice_build(None, Some(PASSWORD.as_bytes())),
        reference,
        "both ferrtc-ice paths build the same bytes"
    );

    let mut g = c.benchmark_group("stun/ice check: build+sign, parse+verify 92B");
    g.bench_function("ferrtc-ice, key prepared once", |b| {
        b.iter(|| {
            let raw = ice_build(Some(&key), None);
            let m = Message::parse(raw).unwrap();
            m.verify_with(&key).unwrap();
            read(&m);
        })
    });
    g.bench_function("ferrtc-ice, key from the password per message", |b| {
        b.iter(|| {
            let raw = ice_build(None, Some(black_box(PASSWORD).as_bytes()));
            let m = Message::parse(raw).unwrap();
            m.verify_integrity(black_box(PASSWORD).as_bytes()).unwrap();
            read(&m);
        })
    });

    {
        use webrtc_stun::agent::TransactionId;
        use webrtc_stun::attributes::*;
        use webrtc_stun::fingerprint::FINGERPRINT;
        use webrtc_stun::integrity::MessageIntegrity;
        use webrtc_stun::message::{Message, Setter, BINDING_REQUEST};
        use webrtc_stun::textattrs::TextAttribute;
        // webrtc-rs keeps the password and keys HMAC per message (its normal use).
        let integrity = MessageIntegrity::new_short_term_integrity(PASSWORD.to_string());
        let mut out = Message::new();
        let mut inp = Message::new();
        let build = |m: &mut Message| {
            m.reset();
            m.typ = BINDING_REQUEST;
            m.transaction_id = TransactionId(TID);
            m.write_header();
            m.add(ATTR_USERNAME, black_box(USERNAME).as_bytes());
            m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
            m.add(ATTR_ICE_CONTROLLING, &TIEBREAKER.to_be_bytes());
            m.add(ATTR_USE_CANDIDATE, &[]);
            integrity.add_to(m).unwrap();
            FINGERPRINT.add_to(m).unwrap();
        };
        build(&mut out);
        assert_eq!(
            out.raw,
            reference[..],
            "webrtc-rs stun builds the same bytes"
        );
        g.bench_function("webrtc-rs 0.17", |b| {
            b.iter(|| {
                build(&mut out);
                inp.raw.clear();
                inp.raw.extend_from_slice(&out.raw);
                inp.decode().unwrap();
                FINGERPRINT.check(&inp).unwrap();
                integrity.check(&mut inp).unwrap();
                let u = TextAttribute::get_from_as(&inp, ATTR_USERNAME).unwrap();
                let p = inp.get(ATTR_PRIORITY).unwrap();
                let t = inp.get(ATTR_ICE_CONTROLLING).unwrap();
                black_box((
                    u.text.len(),
                    u32::from_be_bytes(p[..4].try_into().unwrap()),
                    u64::from_be_bytes(t[..8].try_into().unwrap()),
                    inp.contains(ATTR_USE_CANDIDATE),
                ));
            })
        });
    }
    g.finish();
}

const CPU_ROUNDS: usize = 30;
const CPU_CALLS: usize = 100_000;

type Work<'a> = Box<dyn FnMut() + 'a>;

/// `-- cpu [filter…]`: the parse+verify and build+sign groups in thread CPU time, interleaved.
fn cpu_rows(filters: &[String]) {
    let i = inputs();
    let crypto = i.rtc_provider.crypto();
    let rtc_int = rtc_integrity(&i);
    let mut rtc_in = rtc_stun::message::Message::new();
    let mut webrtc_in = webrtc_stun::message::Message::new();
    let mut rtc_out = rtc_stun::message::Message::new();
    let mut webrtc_out = webrtc_stun::message::Message::new();
    let mut buf1 = Some(BytesMut::with_capacity(128));
    let mut buf2 = Some(BytesMut::with_capacity(128));
    let mut rows: Vec<(&str, &str, Work<'_>)> = vec![
        (
            "parse",
            "ferrtc prepared",
            Box::new(|| parse_ferrtc(&i.packet, &i.key)),
        ),
        (
            "parse",
            "ferrtc per message",
            Box::new(|| parse_ferrtc_per_message(&i.packet)),
        ),
        (
            "parse",
            "rtc 0.21",
            Box::new(|| parse_rtc(&mut rtc_in, &i.packet_vec, crypto)),
        ),
        (
            "parse",
            "webrtc-rs 0.17",
            Box::new(|| parse_webrtc(&mut webrtc_in, &i.packet_vec, &i.webrtc_integrity)),
        ),
        (
            "build",
            "ferrtc prepared",
            Box::new(|| build_ferrtc(&i.key, &mut buf1)),
        ),
        (
            "build",
            "ferrtc per message",
            Box::new(|| build_ferrtc_per_message(&mut buf2)),
        ),
        (
            "build",
            "rtc 0.21",
            Box::new(|| build_rtc(&mut rtc_out, &rtc_int)),
        ),
        (
            "build",
            "webrtc-rs 0.17",
            Box::new(|| build_webrtc(&mut webrtc_out, &i.webrtc_integrity)),
        ),
    ];
    rows.retain(|(group, imp, _)| {
        let name = format!("{group}:{imp}");
        filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
    });
    let mut best = vec![f64::MAX; rows.len()];
    for _ in 0..CPU_ROUNDS {
        // Interleaved: every implementation sees the machine of this round.
        for (k, (_, _, work)) in rows.iter_mut().enumerate() {
            let t = cpu_time::ThreadTime::now();
            for _ in 0..CPU_CALLS {
                work();
            }
            let ns = t.elapsed().as_nanos() as f64 / CPU_CALLS as f64;
            best[k] = best[k].min(ns);
        }
    }
    println!(
        "stun, thread CPU time per call, best of {CPU_ROUNDS} rounds x {CPU_CALLS} calls ({} calls each):",
        CPU_ROUNDS * CPU_CALLS
    );
    for (k, (group, imp, _)) in rows.iter().enumerate() {
        // Against the best other stack of the group (issue 17's goals are stated that way).
        let other = rows
            .iter()
            .enumerate()
            .filter(|(_, (g, m, _))| g == group && !m.starts_with("ferrtc"))
            .map(|(j, _)| best[j])
            .fold(f64::MAX, f64::min);
        let ratio = if imp.starts_with("ferrtc") && other < f64::MAX {
            format!("  {:.2}x faster than the best other", other / best[k])
        } else {
            String::new()
        };
        println!("  {group:<6} {imp:<19} {:>8.2} ns{ratio}", best[k]);
    }
}

criterion_group!(benches, bench_parse, bench_build, bench_ice_check);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "cpu") {
        let filters: Vec<String> = args
            .get(i + 1..)
            .unwrap_or(&[])
            .iter()
            .filter(|a| !a.starts_with("--"))
            .cloned()
            .collect();
        cpu_rows(&filters);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
