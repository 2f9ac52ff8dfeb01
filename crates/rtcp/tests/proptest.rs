//! Property tests: every packet value round-trips; arbitrary bytes never panic; every
//! truncation of a valid packet errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use bytes::Bytes;
use ferrtc_rtcp::*;
use proptest::prelude::*;

fn bytes4(max_words: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..=max_words).prop_flat_map(|w| {
        let n = w.len() * 4;
        prop::collection::vec(any::<u8>(), n..=n).prop_map(Bytes::from)
    })
}

fn block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7f_ffff,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, e, j, l, d)| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_sequence: e,
                jitter: j,
                last_sr: l,
                delay_since_last_sr: d,
            },
        )
}

fn sdes_item() -> impl Strategy<Value = SdesItem> {
    (1u8..=255, prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(t, v)| SdesItem {
        item_type: SdesItemType::from_u8(t),
        value: Bytes::from(v),
    })
}

fn twcc() -> impl Strategy<Value = TransportCc> {
    (
        prop::collection::vec((any::<bool>(), 0i64..30_000), 1..120),
        any::<u16>(),
        0i64..1_000_000_000,
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(|(recs, base, t0, fbc, ssrc)| {
            let mut b = TransportCcBuilder::new();
            let mut t = t0;
            let mut any_added = false;
            for (i, (recv, dt)) in recs.iter().enumerate() {
                t += dt - 2_000;
                if *recv || (!any_added && i + 1 == recs.len()) {
                    b.add(base.wrapping_add(i as u16), t);
                    any_added = true;
                }
            }
            b.build(ssrc, 1, fbc).unwrap()
        })
}

fn packet() -> impl Strategy<Value = RtcpPacket> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec(block(), 0..4),
            bytes4(3)
        )
            .prop_map(
                |(ssrc, ntp, rtp, pc, oc, reports, ext)| RtcpPacket::SenderReport(SenderReport {
                    ssrc,
                    ntp_timestamp: ntp,
                    rtp_timestamp: rtp,
                    packet_count: pc,
                    octet_count: oc,
                    reports: reports.into(),
                    profile_extensions: ext,
                })
            ),
        (
            any::<u32>(),
            prop::collection::vec(block(), 0..4),
            bytes4(3)
        )
            .prop_map(|(ssrc, reports, ext)| {
                RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc,
                    reports: reports.into(),
                    profile_extensions: ext,
                })
            }),
        prop::collection::vec(
            (any::<u32>(), prop::collection::vec(sdes_item(), 0..4)),
            0..4
        )
        .prop_map(|c| {
            RtcpPacket::Sdes(Sdes {
                chunks: c
                    .into_iter()
                    .map(|(ssrc, items)| SdesChunk {
                        ssrc,
                        items: items.into(),
                    })
                    .collect(),
            })
        }),
        (
            prop::collection::vec(any::<u32>(), 0..5),
            proptest::option::of(prop::collection::vec(any::<u8>(), 0..50))
        )
            .prop_map(|(ssrcs, reason)| RtcpPacket::Bye(Bye {
                ssrcs,
                reason: reason.map(Bytes::from)
            })),
        (0u8..32, any::<u32>(), any::<[u8; 4]>(), bytes4(5)).prop_map(
            |(subtype, ssrc, name, data)| RtcpPacket::App(App {
                subtype,
                ssrc,
                name,
                data
            })
        ),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec((any::<u16>(), any::<u16>()), 0..5)
        )
            .prop_map(|(s, m, p)| {
                RtcpPacket::Nack(Nack {
                    sender_ssrc: s,
                    media_ssrc: m,
                    pairs: p
                        .into_iter()
                        .map(|(packet_id, lost_bitmask)| NackPair {
                            packet_id,
                            lost_bitmask,
                        })
                        .collect(),
                })
            }),
        (
            any::<bool>(),
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec((any::<u32>(), 0u8..64, 0u32..(1 << 17), 0u16..512), 0..4)
        )
            .prop_map(|(n, s, m, items)| {
                let t = Tmmb {
                    sender_ssrc: s,
                    media_ssrc: m,
                    items: items
                        .into_iter()
                        .map(|(ssrc, exp, mantissa, overhead)| TmmbItem {
                            ssrc,
                            exp,
                            mantissa,
                            overhead,
                        })
                        .collect(),
                };
                if n {
                    RtcpPacket::Tmmbn(t)
                } else {
                    RtcpPacket::Tmmbr(t)
                }
            }),
        (
            any::<u32>(),
            prop::collection::vec(
                (
                    any::<u32>(),
                    any::<u16>(),
                    prop::collection::vec((any::<bool>(), 0u8..4, 0u16..8192), 0..9)
                ),
                0..4
            ),
            any::<u32>()
        )
            .prop_map(|(s, blocks, ts)| RtcpPacket::CongestionControlFeedback(
                CongestionControlFeedback {
                    sender_ssrc: s,
                    blocks: blocks
                        .into_iter()
                        .map(|(ssrc, begin_seq, m)| CcfbReportBlock {
                            ssrc,
                            begin_seq,
                            metrics: m
                                .into_iter()
                                .map(|(received, ecn, arrival_time_offset)| PacketMetric {
                                    received,
                                    ecn,
                                    arrival_time_offset
                                })
                                .collect(),
                        })
                        .collect(),
                    report_timestamp: ts,
                }
            )),
        twcc().prop_map(RtcpPacket::TransportCc),
        (any::<u32>(), any::<u32>()).prop_map(|(s, m)| RtcpPacket::Pli(Pli {
            sender_ssrc: s,
            media_ssrc: m
        })),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec((0u16..8192, 0u16..8192, 0u8..64), 0..4)
        )
            .prop_map(|(s, m, e)| {
                RtcpPacket::Sli(Sli {
                    sender_ssrc: s,
                    media_ssrc: m,
                    entries: e
                        .into_iter()
                        .map(|(first, number, picture_id)| SliEntry {
                            first,
                            number,
                            picture_id,
                        })
                        .collect(),
                })
            }),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec((any::<u32>(), any::<u8>()), 0..4)
        )
            .prop_map(|(s, m, e)| {
                RtcpPacket::Fir(Fir {
                    sender_ssrc: s,
                    media_ssrc: m,
                    entries: e
                        .into_iter()
                        .map(|(ssrc, sequence_number)| FirEntry {
                            ssrc,
                            sequence_number,
                        })
                        .collect(),
                })
            }),
        (
            any::<u32>(),
            any::<u32>(),
            0u8..64,
            0u32..(1 << 18),
            prop::collection::vec(any::<u32>(), 0..5)
        )
            .prop_map(|(s, m, exp, mantissa, ssrcs)| RtcpPacket::Remb(Remb {
                sender_ssrc: s,
                media_ssrc: m,
                exp,
                mantissa,
                ssrcs
            })),
        (
            any::<u32>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u64>().prop_map(|n| XrBlock::Rrtr { ntp_timestamp: n }),
                    prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..3)
                        .prop_map(|v| XrBlock::Dlrr(
                            v.into_iter()
                                .map(|(ssrc, last_rr, delay_since_last_rr)| DlrrItem {
                                    ssrc,
                                    last_rr,
                                    delay_since_last_rr
                                })
                                .collect()
                        )),
                    ((6u8..=255), any::<u8>(), bytes4(4)).prop_map(
                        |(block_type, type_specific, data)| XrBlock::Other {
                            block_type,
                            type_specific,
                            data
                        }
                    ),
                ],
                0..4
            )
        )
            .prop_map(|(ssrc, blocks)| RtcpPacket::ExtendedReport(ExtendedReport { ssrc, blocks })),
        (
            0u8..32,
            prop_oneof![Just(1u8), Just(192), Just(210), Just(255)],
            bytes4(5),
            0u8..64
        )
            .prop_map(
                |(count, packet_type, body, padding)| RtcpPacket::Raw(RawPacket {
                    count,
                    packet_type,
                    body,
                    padding: padding * 4
                })
            ),
    ]
}

/// Walks `raw` both ways under every mode and checks that the by-reference walk yields what
/// the owned walk does: the same packets (views converted with `to_packet`) and the same
/// errors at the same place. One documented difference: a packet without a view that breaks
/// a placement rule (first not SR/RR, padding not last) is reported for that before its
/// body is decoded, where the owned walk may report a fault in its body first.
fn ref_walk_agrees(raw: &Bytes) -> Result<(), TestCaseError> {
    for mode in [Mode::ReducedSize, Mode::Compound, Mode::StrictCompound] {
        let owned: Vec<Result<RtcpPacket, Error>> =
            PacketIter::with(raw, mode, Limits::default()).collect();
        let mut refs: Vec<Result<RtcpPacket, Error>> = Vec::new();
        for r in PacketRefIter::with(raw, mode, Limits::default()) {
            let r = r.and_then(|p| p.to_packet());
            let stop = r.is_err();
            refs.push(r);
            if stop {
                break;
            }
        }
        prop_assert_eq!(
            refs.len(),
            owned.len(),
            "{:?}: {:?} vs {:?}",
            mode,
            refs,
            owned
        );
        for (r, o) in refs.iter().zip(&owned) {
            match (r, o) {
                (
                    Err(e @ (Error::FirstNotReport { .. } | Error::PaddingNotLast { .. })),
                    Err(f),
                ) if e != f => {
                    // Only for a packet without a view, whose body the owned walk decoded
                    // (and found broken) before it checked the placement.
                    let at = match e {
                        Error::PaddingNotLast { offset } => *offset,
                        _ => 0,
                    };
                    let (count, pt) = (raw[at] & 0x1f, raw[at + 1]);
                    let viewed = matches!((pt, count), (200..=202, _) | (205, 1) | (206, 1));
                    prop_assert!(
                        !viewed
                            && !matches!(
                                f,
                                Error::FirstNotReport { .. } | Error::PaddingNotLast { .. }
                            ),
                        "{:?} vs {:?}",
                        e,
                        f
                    );
                }
                _ => prop_assert_eq!(r, o, "{:?}", mode),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packet_round_trips(p in packet()) {
        let wire = p.to_bytes();
        prop_assert_eq!(wire.len(), p.encoded_len());
        prop_assert_eq!(wire.len() % 4, 0);
        let back = RtcpPacket::parse(wire.clone()).unwrap();
        prop_assert_eq!(&back, &p);
        // Every truncation errors.
        for cut in 0..wire.len() {
            prop_assert!(RtcpPacket::parse(wire.slice(..cut)).is_err());
            prop_assert!(parse_reduced_size(wire.slice(..cut)).is_err());
        }
    }

    #[test]
    fn compound_round_trips(
        first in prop_oneof![
            (any::<u32>(), prop::collection::vec(block(), 0..3)).prop_map(|(ssrc, reports)| RtcpPacket::ReceiverReport(ReceiverReport { ssrc, reports: reports.into(), profile_extensions: Bytes::new() })),
        ],
        rest in prop::collection::vec(packet().prop_filter("no padding before the end", |p| {
            !matches!(p, RtcpPacket::TransportCc(t) if t.padding != 0) && !matches!(p, RtcpPacket::Raw(r) if r.padding != 0)
        }), 0..5),
    ) {
        let mut packets = vec![first];
        packets.extend(rest);
        let mut wire = Vec::new();
        write_compound(&packets, &mut wire);
        prop_assert_eq!(wire.len(), compound_len(&packets));
        let wire = Bytes::from(wire);
        prop_assert_eq!(parse_compound(wire.clone()).unwrap(), packets.clone());
        prop_assert_eq!(PacketIter::new(wire.clone()).collect::<Result<Vec<_>, _>>().unwrap(), packets.clone());
        ref_walk_agrees(&wire)?;
        // Cuts that are not on a packet boundary error.
        let mut bounds = vec![0];
        for p in &packets {
            bounds.push(bounds.last().unwrap() + p.encoded_len());
        }
        for cut in 0..wire.len() {
            let r = parse_compound(wire.slice(..cut));
            if !bounds.contains(&cut) || cut == 0 {
                prop_assert!(r.is_err());
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300), fix in any::<bool>()) {
        let mut data = data;
        if fix && data.len() >= 4 {
            // Make the first header plausible so that deeper code is reached.
            data[0] = (data[0] & 0x3f) | 0x80;
            let words = (data.len() / 4 - 1) as u16;
            data[2..4].copy_from_slice(&words.to_be_bytes());
            data.truncate(data.len() / 4 * 4);
        }
        let raw = Bytes::from(data);
        let _ = parse_compound(raw.clone());
        if let Ok(packets) = parse_reduced_size(raw.clone()) {
            let mut out = Vec::new();
            write_compound(&packets, &mut out);
            let again = parse_reduced_size(Bytes::from(out)).unwrap();
            prop_assert_eq!(&again, &packets);
            for p in &packets {
                if let RtcpPacket::TransportCc(t) = p {
                    let _ = t.arrivals().count();
                    let _ = t.chunks().count();
                }
            }
        }
        ref_walk_agrees(&raw)?;
        for p in PacketIter::new(raw) {
            let _ = p;
        }
    }

    /// Strict parsing of the wire form and `validate_compound` of the packets agree, and
    /// strict accepts only what `parse_compound` and the default `parse` accept.
    #[test]
    fn strict_mode_agrees_with_validate_compound(
        packets in prop::collection::vec(packet(), 1..5),
    ) {
        let mut out = Vec::new();
        write_compound(&packets, &mut out);
        let raw = Bytes::from(out);
        ref_walk_agrees(&raw)?;
        prop_assume!(parse(raw.clone()).as_ref() == Ok(&packets));
        let strict = parse_strict_compound(raw.clone());
        prop_assert_eq!(strict.is_ok(), validate_compound(&packets).is_ok(), "{:?}", strict);
        if strict.is_ok() {
            prop_assert!(parse_compound(raw).is_ok());
        }
    }

    /// `packets()` decodes any mix of chunk kinds (runs, one- and two-bit vectors, reserved
    /// statuses, a last chunk only partly used) as the chunk-by-chunk reading of the draft.
    #[test]
    fn twcc_packets_agree_with_chunks(
        raw_chunks in prop::collection::vec(any::<u16>().prop_map(|v| {
            // Keep runs short so the test stays quick.
            if v & 0x8000 == 0 { v & 0xe03f } else { v }
        }), 1..12),
        cut in 0usize..14,
        base in any::<u16>(),
        delta_seed in any::<u64>(),
    ) {
        let chunks: Vec<PacketStatusChunk> =
            raw_chunks.iter().map(|v| PacketStatusChunk::from_u16(*v)).collect();
        let total: usize = chunks.iter().map(PacketStatusChunk::len).sum();
        let last = chunks.last().unwrap().len();
        // Describe fewer packets than the last chunk holds, but at least one of it.
        let count = (total - cut.min(last.saturating_sub(1))).min(0xffff);
        prop_assume!(count > total - last);
        let statuses: Vec<PacketStatus> = chunks
            .iter()
            .flat_map(|c| (0..c.len()).map(move |i| c.status(i)))
            .take(count)
            .collect();
        let mut x = delta_seed;
        let mut deltas = Vec::new();
        for st in &statuses {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            match st {
                PacketStatus::SmallDelta => deltas.push((x >> 56) as i16),
                PacketStatus::LargeDelta => deltas.push((x >> 48) as i16),
                _ => {}
            }
        }
        let fb = TransportCc::from_parts(1, 2, base, count as u16, 5, 6, &chunks, &deltas).unwrap();
        let wire = RtcpPacket::TransportCc(fb.clone()).to_bytes();
        let RtcpPacket::TransportCc(back) = RtcpPacket::parse(wire).unwrap() else { panic!() };
        let got: Vec<TwccPacket> = back.packets().collect();
        prop_assert_eq!(got.len(), count);
        let mut d = deltas.iter();
        for (i, (p, st)) in got.iter().zip(&statuses).enumerate() {
            prop_assert_eq!(p.sequence_number, base.wrapping_add(i as u16));
            prop_assert_eq!(p.status, *st);
            let want = match st {
                PacketStatus::SmallDelta | PacketStatus::LargeDelta => d.next().copied(),
                _ => None,
            };
            prop_assert_eq!(p.delta_ticks, want);
        }
    }

    #[test]
    fn twcc_builder_reverses(
        recs in prop::collection::btree_map(0u16..500, 0i64..2_000_000, 1..100),
        base in any::<u16>(),
        t0 in (0i64..4_000_000_000).prop_map(|t| t * 250),
    ) {
        let mut b = TransportCcBuilder::new();
        // Arrivals in sequence order, never more than 8 s apart.
        let mut t = t0;
        let mut want = Vec::new();
        for (off, dt) in &recs {
            t += dt / 1000 * 250;
            b.add(base.wrapping_add(*off), t);
            want.push((base.wrapping_add(*off), t));
        }
        let fb = b.build(1, 2, 3).unwrap();
        let wire = RtcpPacket::TransportCc(fb.clone()).to_bytes();
        let RtcpPacket::TransportCc(back) = RtcpPacket::parse(wire).unwrap() else { panic!() };
        prop_assert_eq!(&back, &fb);
        let got: Vec<(u16, i64)> = back.arrivals().filter_map(|(s, t)| t.map(|t| (s, t))).collect();
        // Times come back exactly (they are multiples of 250 µs) relative to the reference.
        let ref_us = i64::from(back.reference_time) * 64_000;
        let base_us = (t0 + recs.values().next().unwrap() / 1000 * 250).div_euclid(64_000) * 64_000;
        let want: Vec<(u16, i64)> = want.into_iter().map(|(s, t)| (s, t - base_us + ref_us)).collect();
        prop_assert_eq!(got, want);
        let lost = back.arrivals().filter(|(_, t)| t.is_none()).count();
        prop_assert_eq!(lost, usize::from(back.packet_status_count) - recs.len());
    }
}

#[test]
fn nack_from_lost_round_trips() {
    let lost = [65530u16, 65531, 65535, 0, 5, 30, 31, 46];
    let n = Nack::from_lost(1, 2, lost);
    assert_eq!(n.lost().collect::<Vec<_>>(), lost);
    assert_eq!(n.pairs.len(), 2);
}

#[test]
fn remb_and_tmmbr_bitrates() {
    let r = Remb::new(1, 8_927_168, vec![5]);
    assert_eq!(r.bitrate(), 8_927_168);
    let t = TmmbItem::new(7, 1_000_000_000, 40);
    assert!(t.bitrate() <= 1_000_000_000 && t.bitrate() > 999_000_000);
    assert!(t.mantissa < 1 << 17);
}

/// REMB: bitrate = mantissa (18 bits) × 2^exp (6 bits), up to (2^18 - 1) × 2^63, far past
/// 64 bits. Values that do not fit saturate at u64::MAX instead of wrapping (issue 15).
#[test]
fn remb_bitrate_saturates_instead_of_wrapping() {
    let remb = |exp: u8, mantissa: u32| Remb {
        exp,
        mantissa,
        ..Remb::default()
    };
    // The largest mantissa with exponent 63: 2^81 - 2^63 does not fit.
    assert_eq!(remb(63, 0x3_ffff).bitrate(), u64::MAX);
    // Mantissa 2 with exponent 63 is 2^64: one past u64::MAX (a shift wraps it to 0).
    assert_eq!(remb(63, 2).bitrate(), u64::MAX);
    // Mantissa 3 × 2^63 wraps to 2^63 with a plain shift.
    assert_eq!(remb(63, 3).bitrate(), u64::MAX);
    // Mantissa 1 × 2^63 fits exactly.
    assert_eq!(remb(63, 1).bitrate(), 9_223_372_036_854_775_808);
    // 2^17 × 2^46 = 2^63 fits; 2^17 × 2^47 = 2^64 does not.
    assert_eq!(remb(46, 1 << 17).bitrate(), 1 << 63);
    assert_eq!(remb(47, 1 << 17).bitrate(), u64::MAX);
    // (2^18 - 1) × 2^46 = 2^64 - 2^46 fits.
    assert_eq!(remb(46, 0x3_ffff).bitrate(), 18_446_673_704_965_373_952);
    assert_eq!(remb(0, 0).bitrate(), 0);
    assert_eq!(remb(63, 0).bitrate(), 0);
    // From the wire: exponent 63, mantissa 0x3ffff.
    let mut wire = vec![0x8f, 206, 0, 5];
    wire.extend_from_slice(&1u32.to_be_bytes());
    wire.extend_from_slice(&0u32.to_be_bytes());
    wire.extend_from_slice(b"REMB");
    wire.extend_from_slice(&[1, 0xff, 0xff, 0xff]);
    wire.extend_from_slice(&9u32.to_be_bytes());
    match RtcpPacket::parse(Bytes::from(wire)).unwrap() {
        RtcpPacket::Remb(r) => {
            assert_eq!((r.exp, r.mantissa, r.ssrcs), (63, 0x3_ffff, vec![9]));
            assert_eq!(Remb { ssrcs: vec![], ..r }.bitrate(), u64::MAX);
        }
        other => panic!("{other:?}"),
    }
    // TMMBR has the same shape (17-bit mantissa).
    let t = TmmbItem {
        exp: 63,
        mantissa: 0x1_ffff,
        ..TmmbItem::default()
    };
    assert_eq!(t.bitrate(), u64::MAX);
}

#[test]
fn compound_rules() {
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        ..Default::default()
    });
    let pli = RtcpPacket::Pli(Pli {
        sender_ssrc: 1,
        media_ssrc: 2,
    });
    let mut padded = RawPacket {
        count: 0,
        packet_type: 210,
        body: Bytes::from_static(&[0; 4]),
        padding: 4,
    };
    let mut w = Vec::new();
    write_compound(&[pli.clone(), rr.clone()], &mut w);
    assert_eq!(
        parse_compound(Bytes::from(w.clone())),
        Err(Error::FirstNotReport { packet_type: 206 })
    );
    assert_eq!(parse_reduced_size(Bytes::from(w)).unwrap().len(), 2);
    let mut w = Vec::new();
    write_compound(
        &[rr.clone(), RtcpPacket::Raw(padded.clone()), pli.clone()],
        &mut w,
    );
    assert_eq!(
        parse_compound(Bytes::from(w.clone())),
        Err(Error::PaddingNotLast { offset: 8 })
    );
    assert!(parse_reduced_size(Bytes::from(w)).is_ok());
    padded.padding = 0;
    assert_eq!(parse_compound(Bytes::new()), Err(Error::Empty));
    let many: Vec<RtcpPacket> = std::iter::once(rr)
        .chain(std::iter::repeat_n(pli, 70))
        .collect();
    let mut w = Vec::new();
    write_compound(&many, &mut w);
    assert_eq!(
        parse_compound(Bytes::from(w)),
        Err(Error::TooManyPackets { max: 64 })
    );
}
