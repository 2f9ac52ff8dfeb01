//! RTP parse and serialize: ferrtc beside webrtc-rs (0.17 async line, 0.21 sans-IO line).
//!
//! Every implementation parses the same bytes (a 1200-byte payload with sdes:mid,
//! abs-send-time and transport-wide-cc in the one-byte form) and reads the three values. Each
//! group says in a comment what every side does; the rows issue 17 names are
//! `rtp/parse owned, every extension decoded` and `rtp/header + read three extensions`.
//!
//! `cargo bench -p ferrtc-benches --bench rtp -- cpu` runs those two groups' closures (the
//! same functions the criterion groups call) in thread CPU time instead (CLOCK_THREAD_CPUTIME_ID:
//! time spent descheduled on a shared machine does not count), the implementations
//! interleaved, best of 30 rounds x 200,000 calls; with a clone + drop of the shared `Bytes`
//! alone as a reference row (`ref`: every side of the owned row pays it). `-- cpu owned` keeps only
//! the rows whose `group:implementation` contains `owned`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, Criterion};
use ferrtc_rtp::values::{AbsSendTime, ExtensionValue, Mid, TransportCc};
use ferrtc_rtp::{ExtensionMap, ExtensionsBuilder, RtpHeader, RtpPacket, RtpPacketView};

/// webrtc-rs (both lines) decode every extension of a parsed header the cheapest way their
/// API allows: walk `header.extensions` (split into (id, payload) by `unmarshal`) and decode
/// each payload in place, through their typed `unmarshal` for abs-send-time and
/// transport-cc (no `get_extension`, which clones a `Bytes` per call). Returns what ferrtc's
/// rows sum, so the benches check that both read the same values.
macro_rules! read_exts {
    ($krate:ident, $header:expr) => {{
        let mut sum = 0u64;
        for x in &$header.extensions {
            match x.id {
                MID => sum += x.payload.len() as u64,
                ABS_SEND_TIME => sum += u64::from(
                    $krate::extension::abs_send_time_extension::AbsSendTimeExtension::unmarshal(
                        &mut &x.payload[..],
                    )
                    .unwrap()
                    .timestamp,
                ),
                TWCC => {
                    sum += u64::from(
                        $krate::extension::transport_cc_extension::TransportCcExtension::unmarshal(
                            &mut &x.payload[..],
                        )
                        .unwrap()
                        .transport_sequence,
                    )
                }
                _ => {}
            }
        }
        sum
    }};
}

/// What ferrtc's rows sum from the typed values.
fn ferrtc_sum(k: &ferrtc_rtp::KnownExtensions<'_>) -> u64 {
    k.mid.unwrap().0.len() as u64
        + u64::from(k.abs_send_time.unwrap().0)
        + u64::from(k.transport_cc.unwrap().sequence_number)
}

const MID: u8 = 1;
const ABS_SEND_TIME: u8 = 2;
const TWCC: u8 = 3;

fn input() -> Bytes {
    let mut b = ExtensionsBuilder::new();
    b.push_value(MID, &Mid(b"0")).unwrap();
    b.push_value(ABS_SEND_TIME, &AbsSendTime(0x12_3456))
        .unwrap();
    b.push_value(
        TWCC,
        &TransportCc {
            sequence_number: 4321,
            feedback_request: None,
        },
    )
    .unwrap();
    let p = RtpPacket {
        header: RtpHeader {
            marker: true,
            payload_type: 96,
            sequence_number: 27023,
            timestamp: 3_653_407_706,
            ssrc: 476_325_762,
            extensions: Some(b.finish(false).unwrap()),
            ..Default::default()
        },
        payload: Bytes::from((0..1200).map(|i| i as u8).collect::<Vec<u8>>()),
        padding: 0,
    };
    // Shared once, as a receive buffer would be.
    let raw = p.to_bytes();
    let _ = raw.clone();
    raw
}

fn parse(c: &mut Criterion) {
    let raw = input();
    let map = the_map();
    // ferrtc: `RtpPacketView::parse` (a validated view of the packet, offsets into the
    // `Bytes`, fields read on demand) + `ExtensionMap::read_ref`. webrtc-rs / rtc: the whole
    // `Packet::unmarshal` and their documented `get_extension` (a `Bytes` clone per call) +
    // typed `unmarshal`. Kept for continuity with earlier reports; the two rows below are the
    // same-work comparisons.
    let mut g = c.benchmark_group("rtp/parse 1200B mid+abs-send-time+twcc");
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            let p = RtpPacketView::parse(black_box(raw.clone())).unwrap();
            let k = map.read_ref(p.extensions().unwrap());
            black_box((
                p.sequence_number(),
                p.payload().len(),
                k.mid.unwrap().0,
                k.abs_send_time.unwrap().0,
                k.transport_cc.unwrap().sequence_number,
            ));
            black_box(p);
        })
    });
    g.bench_function("webrtc-rs 0.17", |b| {
        use webrtc_rtp::extension::abs_send_time_extension::AbsSendTimeExtension;
        use webrtc_rtp::extension::transport_cc_extension::TransportCcExtension;
        use webrtc_util::marshal::Unmarshal;
        b.iter(|| {
            let mut buf = black_box(raw.clone());
            let p = webrtc_rtp::packet::Packet::unmarshal(&mut buf).unwrap();
            let mid = p.header.get_extension(MID).unwrap();
            let abs = AbsSendTimeExtension::unmarshal(
                &mut p.header.get_extension(ABS_SEND_TIME).unwrap(),
            )
            .unwrap();
            let tcc = TransportCcExtension::unmarshal(&mut p.header.get_extension(TWCC).unwrap())
                .unwrap();
            black_box((
                p.header.sequence_number,
                p.payload.len(),
                mid,
                abs.timestamp,
                tcc.transport_sequence,
            ));
            black_box(p);
        })
    });
    g.bench_function("rtc 0.21", |b| {
        use rtc_rtp::extension::abs_send_time_extension::AbsSendTimeExtension;
        use rtc_rtp::extension::transport_cc_extension::TransportCcExtension;
        use rtc_shared::marshal::Unmarshal;
        b.iter(|| {
            let mut buf = black_box(raw.clone());
            let p = rtc_rtp::packet::Packet::unmarshal(&mut buf).unwrap();
            let mid = p.header.get_extension(MID).unwrap();
            let abs = AbsSendTimeExtension::unmarshal(
                &mut p.header.get_extension(ABS_SEND_TIME).unwrap(),
            )
            .unwrap();
            let tcc = TransportCcExtension::unmarshal(&mut p.header.get_extension(TWCC).unwrap())
                .unwrap();
            black_box((
                p.header.sequence_number,
                p.payload.len(),
                mid,
                abs.timestamp,
                tcc.transport_sequence,
            ));
            black_box(p);
        })
    });
    g.finish();

    // Issue 17's "parse an owned packet from Bytes, every header extension decoded".
    // Every side: gets a clone of the datagram's `Bytes`, parses an owned packet (header
    // fields, payload as a zero-copy slice), decodes every header extension to its value
    // (mid's bytes, abs-send-time, transport-cc sequence number) and drops the packet.
    // ferrtc: `RtpPacket::parse` (the extension block copied inline, 32 bytes at most, the
    // payload the moved `Bytes` itself) + `ExtensionMap::read` (one pass, id lookup table).
    // webrtc-rs / rtc: `Packet::unmarshal` (a `Vec` of (id, `Bytes`) extensions, payload a
    // `Bytes` slice) + `read_exts!` above.
    let mut g = c.benchmark_group("rtp/parse owned, every extension decoded");
    check_same_values(&raw, &map);
    g.bench_function("ferrtc", |b| b.iter(|| owned_ferrtc(&raw, &map)));
    g.bench_function("webrtc-rs 0.17", |b| b.iter(|| owned_webrtc(&raw)));
    g.bench_function("rtc 0.21", |b| b.iter(|| owned_rtc(&raw)));
    g.finish();

    // Issue 17's "header + read three extensions": the routing hot path (SSRC, PT, sequence
    // number, extensions), payload untouched. Every side parses the header of the same
    // datagram, decodes the three extension values and reports where the payload starts.
    // ferrtc: `RtpHeader::parse(&Bytes)` (borrows the datagram: no reference count touched)
    // + `ExtensionMap::read`. webrtc-rs / rtc: `Header::unmarshal` on a clone of the `Bytes`
    // (their `Buf` input; from a `&[u8]` they copy every extension payload into a new
    // allocation, which is slower) + `read_exts!`.
    let mut g = c.benchmark_group("rtp/header + read three extensions");
    g.bench_function("ferrtc", |b| b.iter(|| header_ferrtc(&raw, &map)));
    g.bench_function("webrtc-rs 0.17", |b| b.iter(|| header_webrtc(&raw)));
    g.bench_function("rtc 0.21", |b| b.iter(|| header_rtc(&raw)));
    g.finish();
}

fn the_map() -> ExtensionMap {
    ExtensionMap::from_pairs([
        (MID, Mid::URI),
        (ABS_SEND_TIME, AbsSendTime::URI),
        (TWCC, TransportCc::URI),
    ])
    .unwrap()
}

/// Every side reads the same values from the datagram (asserted before timing).
fn check_same_values(raw: &Bytes, map: &ExtensionMap) {
    let expect = {
        let p = RtpPacket::parse(raw.clone()).unwrap();
        u64::from(p.header.sequence_number)
            + p.payload.len() as u64
            + ferrtc_sum(&map.read(p.header.extensions.as_ref().unwrap()))
    };
    {
        use webrtc_util::marshal::Unmarshal;
        let p = webrtc_rtp::packet::Packet::unmarshal(&mut raw.clone()).unwrap();
        let got = u64::from(p.header.sequence_number)
            + p.payload.len() as u64
            + read_exts!(webrtc_rtp, p.header);
        assert_eq!(got, expect);
    }
    {
        use rtc_shared::marshal::Unmarshal;
        let p = rtc_rtp::packet::Packet::unmarshal(&mut raw.clone()).unwrap();
        let got = u64::from(p.header.sequence_number)
            + p.payload.len() as u64
            + read_exts!(rtc_rtp, p.header);
        assert_eq!(got, expect);
    }
}

// The bodies of the two same-work groups, one function per side, called by the criterion
// closures and by `-- cpu` (always inlined: the criterion loop compiles as if written inline).

#[inline(always)]
fn owned_ferrtc(raw: &Bytes, map: &ExtensionMap) {
    let p = RtpPacket::parse(black_box(raw.clone())).unwrap();
    let k = map.read(p.header.extensions.as_ref().unwrap());
    black_box(u64::from(p.header.sequence_number) + p.payload.len() as u64 + ferrtc_sum(&k));
    black_box(p);
}

#[inline(always)]
fn owned_webrtc(raw: &Bytes) {
    use webrtc_util::marshal::Unmarshal;
    let p = webrtc_rtp::packet::Packet::unmarshal(&mut black_box(raw.clone())).unwrap();
    black_box(
        u64::from(p.header.sequence_number)
            + p.payload.len() as u64
            + read_exts!(webrtc_rtp, p.header),
    );
    black_box(p);
}

#[inline(always)]
fn owned_rtc(raw: &Bytes) {
    use rtc_shared::marshal::Unmarshal;
    let p = rtc_rtp::packet::Packet::unmarshal(&mut black_box(raw.clone())).unwrap();
    black_box(
        u64::from(p.header.sequence_number)
            + p.payload.len() as u64
            + read_exts!(rtc_rtp, p.header),
    );
    black_box(p);
}

#[inline(always)]
fn header_ferrtc(raw: &Bytes, map: &ExtensionMap) {
    let raw = black_box(raw);
    let (h, info) = RtpHeader::parse(raw).unwrap();
    let k = map.read(h.extensions.as_ref().unwrap());
    black_box(u64::from(h.sequence_number) + (raw.len() - info.header_len) as u64 + ferrtc_sum(&k));
    black_box(h);
}

#[inline(always)]
fn header_webrtc(raw: &Bytes) {
    use webrtc_util::marshal::Unmarshal;
    let mut buf = black_box(raw.clone());
    let h = webrtc_rtp::header::Header::unmarshal(&mut buf).unwrap();
    black_box(u64::from(h.sequence_number) + buf.len() as u64 + read_exts!(webrtc_rtp, h));
    black_box(h);
}

#[inline(always)]
fn header_rtc(raw: &Bytes) {
    use rtc_shared::marshal::Unmarshal;
    let mut buf = black_box(raw.clone());
    let h = rtc_rtp::header::Header::unmarshal(&mut buf).unwrap();
    black_box(u64::from(h.sequence_number) + buf.len() as u64 + read_exts!(rtc_rtp, h));
    black_box(h);
}

fn serialize(c: &mut Criterion) {
    let raw = input();
    let ours = RtpPacket::parse(raw.clone()).unwrap();
    let theirs = {
        use webrtc_util::marshal::Unmarshal;
        webrtc_rtp::packet::Packet::unmarshal(&mut raw.clone()).unwrap()
    };
    let rtc = {
        use rtc_shared::marshal::Unmarshal;
        rtc_rtp::packet::Packet::unmarshal(&mut raw.clone()).unwrap()
    };
    // Same bytes out of every implementation.
    {
        use webrtc_util::marshal::Marshal;
        assert_eq!(&theirs.marshal().unwrap()[..], &raw[..]);
    }
    {
        use rtc_shared::marshal::Marshal;
        assert_eq!(&rtc.marshal().unwrap()[..], &raw[..]);
    }
    assert_eq!(ours.to_bytes(), raw);
    // What each side does per iteration: all three write the 12-byte header, the extension
    // block and the 1200-byte payload into a caller's buffer. ferrtc's parsed packet keeps the
    // extension block as one `Bytes` and copies it whole (RFC 8285 block, 16 bytes here);
    // webrtc-rs (both lines) keep a list of (id, payload) elements and write each element's
    // one-byte header and payload. Neither encodes typed values (mid / abs-send-time / twcc
    // numbers) into bytes in this loop.
    let mut g = c.benchmark_group("rtp/serialize 1200B mid+abs-send-time+twcc");
    let mut out = Vec::with_capacity(2048);
    g.bench_function("ferrtc", |b| {
        b.iter(|| {
            out.clear();
            black_box(&ours).write_to(&mut out);
            black_box(out.len());
        })
    });
    let mut buf = vec![0u8; 2048];
    g.bench_function("webrtc-rs 0.17", |b| {
        use webrtc_util::marshal::{Marshal, MarshalSize};
        b.iter(|| {
            let p = black_box(&theirs);
            let n = p.marshal_size();
            let n = p.marshal_to(&mut buf[..n]).unwrap();
            black_box(n);
        })
    });
    g.bench_function("rtc 0.21", |b| {
        use rtc_shared::marshal::{Marshal, MarshalSize};
        b.iter(|| {
            let p = black_box(&rtc);
            let n = p.marshal_size();
            let n = p.marshal_to(&mut buf[..n]).unwrap();
            black_box(n);
        })
    });
    g.finish();
}

const CPU_ROUNDS: usize = 30;
const CPU_CALLS: usize = 200_000;

type Work<'a> = Box<dyn Fn() + 'a>;

/// `-- cpu [filter…]`: the two same-work groups in thread CPU time, interleaved.
fn cpu_rows(filters: &[String]) {
    let raw = input();
    let map = the_map();
    check_same_values(&raw, &map);
    let rows: Vec<(&str, &str, Work<'_>)> = vec![
        ("owned", "ferrtc", Box::new(|| owned_ferrtc(&raw, &map))),
        ("owned", "webrtc-rs 0.17", Box::new(|| owned_webrtc(&raw))),
        ("owned", "rtc 0.21", Box::new(|| owned_rtc(&raw))),
        ("header", "ferrtc", Box::new(|| header_ferrtc(&raw, &map))),
        ("header", "webrtc-rs 0.17", Box::new(|| header_webrtc(&raw))),
        ("header", "rtc 0.21", Box::new(|| header_rtc(&raw))),
        // What every side of the owned row pays before parsing anything.
        (
            "ref",
            "Bytes clone+drop",
            Box::new(|| drop(black_box(black_box(&raw).clone()))),
        ),
    ];
    let chosen: Vec<_> = rows
        .iter()
        .filter(|(group, imp, _)| {
            let name = format!("{group}:{imp}");
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    let mut best = vec![f64::MAX; chosen.len()];
    for _ in 0..CPU_ROUNDS {
        // Interleaved: every implementation sees the machine of this round.
        for (i, (_, _, work)) in chosen.iter().enumerate() {
            let t = cpu_time::ThreadTime::now();
            for _ in 0..CPU_CALLS {
                work();
            }
            let ns = t.elapsed().as_nanos() as f64 / CPU_CALLS as f64;
            best[i] = best[i].min(ns);
        }
    }
    println!(
        "rtp, thread CPU time per call, best of {CPU_ROUNDS} rounds x {CPU_CALLS} calls ({} calls each):",
        CPU_ROUNDS * CPU_CALLS
    );
    for (i, (group, imp, _)) in chosen.iter().enumerate() {
        let ferrtc = chosen
            .iter()
            .position(|(g, m, _)| g == group && *m == "ferrtc")
            .map(|j| best[j]);
        let ratio = match ferrtc {
            Some(f) if *imp != "ferrtc" => format!("  {:.2}x ferrtc's time", best[i] / f),
            _ => String::new(),
        };
        println!("  {group:<7} {imp:<15} {:>8.2} ns{ratio}", best[i]);
    }
}

criterion_group!(benches, parse, serialize);

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
