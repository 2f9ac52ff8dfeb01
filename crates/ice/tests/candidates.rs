#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Candidate grammar: every candidate line of real SDPs round-trips byte for byte; property
//! tests for round trips and for never panicking on arbitrary input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ferrtc_ice::candidate::{candidate_priority, local_preference, pair_priority};
use ferrtc_ice::{Address, Candidate, CandidateType, Extension, TcpType, Transport};
use proptest::prelude::*;

const SDPS: &[(&str, &str)] = &[
    ("aiortc-offer", include_str!("data/aiortc-offer.sdp")),
    (
        "chromium-offer-av-dc",
        include_str!("data/chromium-offer-av-dc.sdp"),
    ),
    (
        "chromium-offer-dc-mdns",
        include_str!("data/chromium-offer-dc-mdns.sdp"),
    ),
    ("werift-offer", include_str!("data/werift-offer.sdp")),
    (
        "wrtc-offer-audio-dc",
        include_str!("data/wrtc-offer-audio-dc.sdp"),
    ),
    ("wrtc-offer", include_str!("data/wrtc-offer.sdp")),
];

#[test]
fn every_real_candidate_line_round_trips() {
    let mut n = 0;
    for (name, sdp) in SDPS {
        for line in sdp.lines().map(|l| l.trim_end_matches('\r')) {
            if !line.starts_with("a=candidate:") {
                continue;
            }
            let c = Candidate::parse(line).unwrap_or_else(|e| panic!("{name}: {line}: {e}"));
            assert_eq!(c.to_sdp_line(), line, "{name}");
            assert_eq!(c.to_string(), line.strip_prefix("a=").unwrap());
            n += 1;
        }
    }
    // 23 lines across the six captures (see tests/data).
    assert_eq!(n, 23);
}

#[test]
fn chromium_mdns_and_tcp_lines() {
    let sdp = include_str!("data/chromium-offer-dc-mdns.sdp");
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=candidate:"))
        .unwrap()
        .trim_end();
    let c = Candidate::parse(line).unwrap();
    assert!(c.address.is_mdns());
    assert_eq!(c.typ, CandidateType::Host);
    let tcp = Candidate::parse(
        "candidate:1876313031 1 tcp 1518288127 ::1 44013 typ host tcptype passive generation 0 network-id 2",
    )
    .unwrap();
    assert_eq!(tcp.transport, Transport::Tcp);
    assert_eq!(tcp.tcp_type(), Some(TcpType::Passive));
    assert_eq!(tcp.address, Address::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert_eq!(tcp.network_id(), Some(2));
}

fn ice_string(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9+/]{{1,{max}}}")).unwrap()
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        any::<u32>().prop_map(|v| Address::Ip(IpAddr::V4(Ipv4Addr::from(v)))),
        any::<u128>().prop_map(|v| Address::Ip(IpAddr::V6(Ipv6Addr::from(v)))),
        "[a-f0-9]{8}-[a-f0-9]{4}\\.local".prop_map(Address::Name),
    ]
}

fn extension() -> impl Strategy<Value = Extension> {
    prop_oneof![
        prop_oneof![
            Just(TcpType::Active),
            Just(TcpType::Passive),
            Just(TcpType::So)
        ]
        .prop_map(Extension::TcpType),
        any::<u32>().prop_map(Extension::Generation),
        ice_string(8).prop_map(Extension::Ufrag),
        any::<u32>().prop_map(Extension::NetworkId),
        any::<u32>().prop_map(Extension::NetworkCost),
        ("x-[a-z]{1,6}", "[!-~]{1,8}").prop_map(|(n, v)| Extension::Other(n, v)),
    ]
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        ice_string(32),
        1u16..=256,
        any::<bool>(),
        any::<bool>(),
        1u32..,
        address(),
        any::<u16>(),
        prop_oneof![
            Just(CandidateType::Host),
            Just(CandidateType::ServerReflexive),
            Just(CandidateType::PeerReflexive),
            Just(CandidateType::Relayed)
        ],
        proptest::option::of((address(), any::<u16>())),
        proptest::collection::vec(extension(), 0..6),
    )
        .prop_map(
            |(f, comp, tcp, upper, prio, addr, port, typ, rel, ext)| Candidate {
                foundation: f,
                component: comp,
                transport: if tcp { Transport::Tcp } else { Transport::Udp },
                transport_upper: upper,
                priority: prio,
                address: addr,
                port,
                typ,
                related_address: rel.as_ref().map(|r| r.0.clone()),
                related_port: rel.map(|r| r.1),
                extensions: ext,
            },
        )
}

proptest! {
    #[test]
    fn round_trip(c in candidate()) {
        let s = c.to_string();
        let back: Candidate = s.parse().unwrap();
        prop_assert_eq!(&back, &c);
        prop_assert_eq!(back.to_string(), s);
    }

    #[test]
    fn never_panics_on_arbitrary_text(s in "candidate:[ -~]{0,120}") {
        let _ = s.parse::<Candidate>();
    }

    #[test]
    fn never_panics_on_mutated_lines(idx in 0usize..80, ch in any::<char>(), cut in 0usize..100) {
        let base = "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.2 rport 5000 generation 0 ufrag Wd2o network-cost 999";
        let mut s: String = base.chars().take(cut.max(1) + 40).collect();
        let i = idx.min(s.chars().count());
        let byte = s.char_indices().nth(i).map_or(s.len(), |(b, _)| b);
        s.insert(byte, ch);
        if let Ok(c) = s.parse::<Candidate>() {
            // Anything accepted prints back to something that parses to the same value.
            prop_assert_eq!(c.to_string().parse::<Candidate>().unwrap(), c);
        }
    }

    #[test]
    fn priority_orders_by_type_then_local_preference(lp in any::<u16>(), comp in 1u16..=256) {
        let h = candidate_priority(CandidateType::Host, lp, comp);
        let p = candidate_priority(CandidateType::PeerReflexive, lp, comp);
        let s = candidate_priority(CandidateType::ServerReflexive, lp, comp);
        let r = candidate_priority(CandidateType::Relayed, lp, comp);
        prop_assert!(h > p && p > s && s > r);
        prop_assert!(h < 1 << 31);
        let _ = local_preference(IpAddr::V4(Ipv4Addr::from(u32::from(lp))), lp);
    }

    #[test]
    fn pair_priority_matches_rfc_formula(g in 1u32..(1 << 31), d in 1u32..(1 << 31)) {
        let expect = (u64::from(g.min(d)) << 32) + 2 * u64::from(g.max(d)) + u64::from(g > d);
        prop_assert_eq!(pair_priority(g, d), expect);
        // Both agents compute the same order for the same pairs: swapping roles swaps args.
        prop_assert_eq!(pair_priority(g, d) >> 1, pair_priority(d, g) >> 1);
    }
}
