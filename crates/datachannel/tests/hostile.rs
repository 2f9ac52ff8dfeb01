#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Hostile-input corpus for DCEP and the data channel layer (issue 15).
//!
//! Each case is what a broken or hostile peer sends over an established association (SCTP
//! messages with a stream id, a PPID and a payload of its choosing), with the outcome written
//! next to it: the RFC's answer, or the public bug in another stack it comes from. For every
//! case the harness asserts:
//! - no panic and no hang (the exchange runs to quiescence within a bounded number of rounds);
//! - the expected outcome ([`Expect`]): ignored, a channel opened with the given properties,
//!   messages delivered;
//! - bounded state: channels at most `max_channels`, reassembly within `max_partial_message`;
//! - the connection still delivers data afterwards: a message on the channel opened before the
//!   hostile input arrives, byte for byte, and nothing else of the hostile input surfaces.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrtc_datachannel::{ChannelConfig, ChannelInit, DataChannels, DtlsRole, Event, ReadyState};
use ferrtc_sctp::{ppid, Config, SendOptions};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// What the victim (`b`, the DTLS server: peers open even stream ids, RFC 8832 §6) must do.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// Nothing surfaces: no channel, no message, the association stays up.
    Ignored,
    /// A channel is opened by the peer with these properties (and acknowledged).
    Opened {
        id: u16,
        label: String,
        protocol: String,
        ordered: bool,
        max_retransmits: Option<u16>,
        max_packet_life_time: Option<u16>,
    },
    /// Messages delivered on the pre-opened channel, in order: (data, binary).
    Delivered(Vec<(Vec<u8>, bool)>),
    /// At most this many channels exist afterwards (the pre-opened one included).
    ChannelsAtMost(usize),
}

/// What the peer sends: (stream, ppid, payload). `OK` stands for the pre-opened channel.
type Send = (u16, u32, Vec<u8>);

struct Case {
    name: &'static str,
    source: &'static str,
    sends: fn(ok: u16) -> Vec<Send>,
    expect: Expect,
}

/// A DATA_CHANNEL_OPEN (RFC 8832 §5.1) with the given header fields, whatever the body holds.
fn open(ct: u8, priority: u16, rel: u32, label_len: u16, proto_len: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x03, ct];
    v.extend_from_slice(&priority.to_be_bytes());
    v.extend_from_slice(&rel.to_be_bytes());
    v.extend_from_slice(&label_len.to_be_bytes());
    v.extend_from_slice(&proto_len.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn open_ok(label: &str, protocol: &str) -> Vec<u8> {
    open(
        0,
        256,
        0,
        label.len() as u16,
        protocol.len() as u16,
        &[label.as_bytes(), protocol.as_bytes()].concat(),
    )
}

fn opened(id: u16, label: &str, protocol: &str) -> Expect {
    Expect::Opened {
        id,
        label: label.into(),
        protocol: protocol.into(),
        ordered: true,
        max_retransmits: None,
        max_packet_life_time: None,
    }
}

/// Small limits so that the bounds are reached quickly.
const MAX_CHANNELS: usize = 16;
const MAX_PARTIAL: usize = 1024;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "unknown DCEP message type 0x07",
            source: "RFC 8832 §5: only OPEN (0x03) and ACK (0x02) exist",
            sends: |_| vec![(2, ppid::DCEP, vec![0x07, 0, 0, 0])],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN cut after 5 bytes",
            source: "RFC 8832 §5.1 (12-byte fixed part); sipsorcery#1778",
            sends: |_| vec![(2, ppid::DCEP, vec![0x03, 0, 1, 0, 0])],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN whose label length 65535 runs past the message",
            source: "RFC 8832 §5.1 Label Length; sipsorcery#1778, janus-gateway#80",
            sends: |_| vec![(2, ppid::DCEP, open(0, 256, 0, 0xffff, 0, b"abc"))],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN whose label and protocol lengths overflow when added",
            source: "pion/datachannel#213 (integer overflow in the length check crashed)",
            sends: |_| vec![(2, ppid::DCEP, open(0, 256, 0, 0xffff, 0xffff, &[b'x'; 40]))],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN whose protocol runs one byte past the message",
            source: "RFC 8832 §5.1 Protocol Length",
            sends: |_| vec![(2, ppid::DCEP, open(0, 256, 0, 2, 3, b"abxy"))],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN with a label that is not UTF-8",
            source: "RFC 8832 §5.1: the label is a UTF-8 string",
            sends: |_| vec![(2, ppid::DCEP, open(0, 256, 0, 2, 0, &[0xc3, 0x28]))],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN with channel type 0x03",
            source: "RFC 8832 §8.2.2: channel types 0x00-0x02 and 0x80-0x82 are defined",
            sends: |_| vec![(2, ppid::DCEP, open(0x03, 256, 0, 1, 0, b"t"))],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN on an odd stream id (the DTLS server's parity)",
            source: "RFC 8832 §6: the DTLS client MUST use even stream identifiers",
            sends: |_| vec![(3, ppid::DCEP, open_ok("odd", ""))],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN on the stream of the open channel",
            source:
                "RFC 8832 §6: a stream is reset before its id is used again; libdatachannel#1559",
            sends: |ok| vec![(ok, ppid::DCEP, open_ok("hijack", ""))],
            expect: Expect::Ignored,
        },
        Case {
            name: "OPEN with a reliability parameter of 2^32-1 retransmissions",
            source: "RFC 8832 §5.1; W3C maxRetransmits is an unsigned short: clamped to 65535",
            sends: |_| vec![(4, ppid::DCEP, open(0x81, 256, u32::MAX, 2, 0, b"pr"))],
            expect: Expect::Opened {
                id: 4,
                label: "pr".into(),
                protocol: String::new(),
                ordered: false,
                max_retransmits: Some(65535),
                max_packet_life_time: None,
            },
        },
        Case {
            name: "OPEN with a 65535-byte label and a protocol",
            source: "RFC 8832 §5.1: a 16-bit label length; pion/datachannel#280",
            sends: |_| {
                let label = "l".repeat(65535);
                vec![(6, ppid::DCEP, open_ok(&label, "chat"))]
            },
            expect: opened(6, &"l".repeat(65535), "chat"),
        },
        Case {
            name: "OPEN with trailing bytes after the protocol",
            source: "RFC 8832 §5.1: the lengths delimit label and protocol; the rest is not read",
            sends: |_| {
                let mut m = open_ok("t", "p");
                m.extend_from_slice(&[9; 7]);
                vec![(8, ppid::DCEP, m)]
            },
            expect: opened(8, "t", "p"),
        },
        Case {
            name: "ACK with trailing bytes on a stream without a channel",
            source: "RFC 8832 §5.2 (ACK is one byte); nothing to acknowledge",
            sends: |_| vec![(10, ppid::DCEP, vec![0x02, 1, 2, 3])],
            expect: Expect::Ignored,
        },
        Case {
            name: "data on a stream without a channel",
            source: "RFC 8831 §6.6: messages belong to an open channel",
            sends: |_| vec![(12, ppid::STRING, b"nobody".to_vec())],
            expect: Expect::Ignored,
        },
        Case {
            name: "unknown PPID 99 on the open channel",
            source: "RFC 8831 §8 lists the WebRTC PPIDs; others are not for the application",
            sends: |ok| vec![(ok, 99, b"junk".to_vec())],
            expect: Expect::Ignored,
        },
        Case {
            name: "String Empty and Binary Empty with their one placeholder byte",
            source: "RFC 8831 §6.6: PPIDs 56/57 carry one byte that is not data",
            sends: |ok| {
                vec![
                    (ok, ppid::STRING_EMPTY, vec![0]),
                    (ok, ppid::BINARY_EMPTY, vec![0]),
                ]
            },
            expect: Expect::Delivered(vec![(vec![], false), (vec![], true)]),
        },
        Case {
            name: "deprecated partial PPIDs reassembled",
            source: "RFC 8831 §8: String Partial (54) fragments end with a String (51)",
            sends: |ok| {
                vec![
                    (ok, ppid::STRING_PARTIAL, b"ab".to_vec()),
                    (ok, ppid::STRING_PARTIAL, b"cd".to_vec()),
                    (ok, ppid::STRING, b"ef".to_vec()),
                ]
            },
            expect: Expect::Delivered(vec![(b"abcdef".to_vec(), false)]),
        },
        Case {
            name: "300 OPENs on distinct even streams",
            source:
                "bounded state: ChannelConfig::max_channels (RFC 8831 §6.2 leaves the limit to us)",
            sends: |_| {
                (0..300u16)
                    .map(|i| (20 + 2 * i, ppid::DCEP, open_ok("flood", "")))
                    .collect()
            },
            expect: Expect::ChannelsAtMost(MAX_CHANNELS),
        },
    ]
}

struct Pair {
    a: DataChannels,
    b: DataChannels,
    now: Instant,
    events_b: Vec<Event>,
}

impl Pair {
    fn new(seed: u64) -> Pair {
        let now = Instant::now();
        let cfg = ChannelConfig {
            max_channels: MAX_CHANNELS,
            max_partial_message: MAX_PARTIAL,
            ..ChannelConfig::default()
        };
        let mk = |role, s| {
            DataChannels::new(
                role,
                Config::default(),
                cfg.clone(),
                now,
                &mut StdRng::seed_from_u64(s),
            )
        };
        let mut p = Pair {
            a: mk(DtlsRole::Client, seed),
            b: mk(DtlsRole::Server, seed + 1),
            now,
            events_b: Vec::new(),
        };
        p.a.connect(now);
        p.b.connect(now);
        p.pump();
        p
    }

    /// Exchanges packets (and due timers) until both sides are quiet; bounded.
    fn pump(&mut self) {
        for _ in 0..2000 {
            let mut moved = false;
            while let Some(d) = self.a.poll_transmit() {
                let _ = self.b.handle_receive(self.now, d);
                moved = true;
            }
            while let Some(d) = self.b.poll_transmit() {
                let _ = self.a.handle_receive(self.now, d);
                moved = true;
            }
            while let Some(e) = self.b.poll_event() {
                self.events_b.push(e);
            }
            while self.a.poll_event().is_some() {}
            if !moved {
                // Let delayed acknowledgements go out, then stop when nothing is due soon.
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) if t <= self.now + Duration::from_millis(500) => {
                        self.now = t.max(self.now);
                        self.a.handle_timeout(self.now);
                        self.b.handle_timeout(self.now);
                    }
                    _ => return,
                }
            }
        }
        panic!("no quiescence after 2000 rounds");
    }
}

#[test]
fn hostile_corpus() {
    let cases = cases();
    assert!(cases.len() >= 15);
    for (i, case) in cases.iter().enumerate() {
        let name = case.name;
        assert!(!case.source.is_empty());
        let mut p = Pair::new(100 + i as u64);
        assert!(
            p.events_b.contains(&Event::Connected),
            "{name}: not connected"
        );
        // The channel that must keep working.
        let ok =
            p.a.create_channel(ChannelInit {
                label: "keep".into(),
                ..ChannelInit::default()
            })
            .unwrap();
        p.pump();
        assert!(
            p.events_b.contains(&Event::ChannelOpen {
                id: ok,
                remote: true
            }),
            "{name}: {:?}",
            p.events_b
        );
        p.events_b.clear();

        for (stream, ppid, payload) in (case.sends)(ok) {
            p.a.association_mut()
                .send(
                    p.now,
                    stream,
                    ppid,
                    Bytes::from(payload),
                    SendOptions::default(),
                )
                .unwrap_or_else(|e| panic!("{name}: the peer could not send: {e}"));
            p.pump();
        }
        let opened: Vec<u16> = p
            .events_b
            .iter()
            .filter_map(|e| match e {
                Event::ChannelOpen { id, remote: true } => Some(*id),
                _ => None,
            })
            .collect();
        let messages: Vec<(u16, Vec<u8>, bool)> = p
            .events_b
            .iter()
            .filter_map(|e| match e {
                Event::Message { id, data, binary } => Some((*id, data.to_vec(), *binary)),
                _ => None,
            })
            .collect();
        match &case.expect {
            Expect::Ignored => {
                assert!(opened.is_empty(), "{name}: opened {opened:?}");
                assert!(messages.is_empty(), "{name}: delivered {messages:?}");
                assert_eq!(p.b.channel_ids().count(), 1, "{name}");
            }
            Expect::Opened {
                id,
                label,
                protocol,
                ordered,
                max_retransmits,
                max_packet_life_time,
            } => {
                assert_eq!(opened, vec![*id], "{name}");
                let info = p.b.channel(*id).unwrap();
                assert_eq!(&info.label, label, "{name}");
                assert_eq!(&info.protocol, protocol, "{name}");
                assert_eq!(info.ordered, *ordered, "{name}");
                assert_eq!(info.max_retransmits, *max_retransmits, "{name}");
                assert_eq!(info.max_packet_life_time, *max_packet_life_time, "{name}");
                assert_eq!(info.ready_state, ReadyState::Open, "{name}");
                assert!(!info.negotiated, "{name}");
            }
            Expect::Delivered(want) => {
                let got: Vec<(Vec<u8>, bool)> = messages
                    .iter()
                    .map(|(id, d, b)| {
                        assert_eq!(*id, ok, "{name}");
                        (d.clone(), *b)
                    })
                    .collect();
                assert_eq!(&got, want, "{name}");
            }
            Expect::ChannelsAtMost(n) => {
                assert!(!opened.is_empty(), "{name}: nothing opened");
                assert!(p.b.channel_ids().count() <= *n, "{name}");
                assert_eq!(p.b.channel_ids().count(), *n, "{name}: the limit is {n}");
            }
        }
        // Bounded: what SCTP holds for the application is within its receive buffer.
        assert!(
            p.b.association().received_bytes_buffered() <= Config::default().receive_buffer_size,
            "{name}"
        );

        // The connection still delivers data, byte for byte, and only that.
        p.events_b.clear();
        p.a.send_binary(p.now, ok, Bytes::from_static(b"still here"))
            .unwrap();
        p.pump();
        let after: Vec<&Event> = p
            .events_b
            .iter()
            .filter(|e| matches!(e, Event::Message { .. }))
            .collect();
        assert_eq!(
            after,
            vec![&Event::Message {
                id: ok,
                data: Bytes::from_static(b"still here"),
                binary: true
            }],
            "{name}"
        );
        assert_eq!(
            p.b.channel(ok).unwrap().ready_state,
            ReadyState::Open,
            "{name}"
        );
    }
}

/// RFC 8831 §8 (deprecated partial PPIDs): a reassembled message larger than
/// `max_partial_message` is dropped — all of it. Its later fragments must not be delivered as
/// (the tail of) a message of their own.
#[test]
fn an_oversized_partial_message_is_dropped_whole() {
    let mut p = Pair::new(7);
    let ok =
        p.a.create_channel(ChannelInit {
            label: "keep".into(),
            ..ChannelInit::default()
        })
        .unwrap();
    p.pump();
    p.events_b.clear();
    // Three 600-byte fragments and a final one: 1805 bytes, over the 1024-byte limit.
    for (ppid, n) in [
        (ppid::BINARY_PARTIAL, 600),
        (ppid::BINARY_PARTIAL, 600),
        (ppid::BINARY_PARTIAL, 600),
        (ppid::BINARY, 5),
    ] {
        p.a.association_mut()
            .send(
                p.now,
                ok,
                ppid,
                Bytes::from(vec![1; n]),
                SendOptions::default(),
            )
            .unwrap();
        p.pump();
    }
    p.a.send_binary(p.now, ok, Bytes::from_static(b"next"))
        .unwrap();
    p.pump();
    let got: Vec<Bytes> = p
        .events_b
        .iter()
        .filter_map(|e| match e {
            Event::Message { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect();
    // Compared by length first, so that a failure does not print kilobytes of payload.
    let lens: Vec<usize> = got.iter().map(Bytes::len).collect();
    assert_eq!(lens, vec![4], "message lengths delivered");
    assert_eq!(got, vec![Bytes::from_static(b"next")]);
}
