//! The per-SSRC receive state of one BUNDLE transport: a bounded table of
//! [`ReceiveStream`]s, each holding what is known about one remote media source.
//!
//! A stream is created when the [router](super::router) first routes a packet of its SSRC and
//! is fed every packet after that. Today it holds the RFC 3550 statistics; the NACK generator,
//! keyframe-request state and the frame buffer are meant to become further fields of
//! [`ReceiveStream`], fed from the same [`Sequence`] verdict (which carries the extended
//! sequence number), so adding them changes no caller.
//!
//! Report blocks are handed out round-robin: when more sources are heard than one report can
//! carry (31 blocks, fewer with a size budget), each report covers the next ones (RFC 3550
//! §6.4: "the report blocks of different sources may be spread across reports").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferrtc_rtcp::{ReportBlocks, SenderReport};

use super::receiver_stats::{ReceiveConfig, ReceiveStats, Sequence};
use super::router::Route;
use super::NtpTime;

/// Limits of a [`ReceiveStreams`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamsConfig {
    /// Most streams held; a packet of one more SSRC is refused ([`StreamsFull`]).
    pub max_streams: usize,
    /// A stream silent this long is dropped by [`ReceiveStreams::expire`] (RFC 3550 §6.3.5
    /// times members out after five report intervals; WebRTC intervals are about 1 s).
    pub inactivity_timeout: Duration,
    /// Sequence validation limits (the clock rate is given per packet).
    pub sequence: ReceiveConfig,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            max_streams: 256,
            inactivity_timeout: Duration::from_secs(30),
            sequence: ReceiveConfig::new(90_000),
        }
    }
}

/// The stream table is full: the packet was not accounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamsFull;

/// What is known about one remote media source.
#[derive(Clone, Debug)]
pub struct ReceiveStream {
    /// Where the router sent it (receiver, layer, media or repair) when it was created or last
    /// moved.
    pub route: Route,
    /// RFC 3550 statistics.
    pub stats: ReceiveStats,
}

/// The receive streams of one transport, by SSRC.
#[derive(Clone, Debug, Default)]
pub struct ReceiveStreams {
    config: StreamsConfig,
    streams: BTreeMap<u32, ReceiveStream>,
    /// The SSRC after which the next report continues.
    report_cursor: Option<u32>,
    refused: u64,
}

impl ReceiveStreams {
    /// An empty table.
    pub fn new(config: StreamsConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Accounts a routed RTP packet that arrived at `now`. `clock_rate` is that of the
    /// packet's payload type. The stream follows its route: when the router moved the SSRC to
    /// another receiver ([`Route::new_binding`]), its statistics restart.
    pub fn on_rtp(
        &mut self,
        now: Instant,
        route: &Route,
        sequence_number: u16,
        rtp_timestamp: u32,
        payload_len: usize,
        clock_rate: u32,
    ) -> Result<Sequence, StreamsFull> {
        let ssrc = route.ssrc;
        let fresh = |config: &StreamsConfig| ReceiveStream {
            route: *route,
            stats: ReceiveStats::new(
                ssrc,
                ReceiveConfig {
                    clock_rate,
                    ..config.sequence
                },
                now,
            ),
        };
        let stream = match self.streams.get_mut(&ssrc) {
            Some(s) => {
                if s.route.receiver != route.receiver {
                    *s = fresh(&self.config);
                } else {
                    s.route = *route;
                }
                s
            }
            None => {
                if self.streams.len() >= self.config.max_streams {
                    self.refused = self.refused.saturating_add(1);
                    return Err(StreamsFull);
                }
                self.streams.entry(ssrc).or_insert(fresh(&self.config))
            }
        };
        Ok(stream
            .stats
            .on_packet(now, sequence_number, rtp_timestamp, payload_len))
    }

    /// A sender report arrived at `now`; true if its SSRC is one of ours.
    pub fn on_sender_report(&mut self, now: Instant, sr: &SenderReport) -> bool {
        match self.streams.get_mut(&sr.ssrc) {
            Some(s) => {
                s.stats
                    .on_sender_report(now, NtpTime(sr.ntp_timestamp), sr.rtp_timestamp);
                true
            }
            None => false,
        }
    }

    /// Report blocks for the next report, at most `max` (31 fit in one SR/RR), continuing
    /// round-robin after the last source reported. Streams still on probation are skipped.
    pub fn report_blocks(&mut self, now: Instant, max: usize) -> ReportBlocks {
        let max = max.min(31);
        let mut blocks = ReportBlocks::new();
        if max == 0 || self.streams.is_empty() {
            return blocks;
        }
        let start = self.report_cursor;
        let after = start.map_or(self.streams.range(..), |c| {
            self.streams
                .range((std::ops::Bound::Excluded(c), std::ops::Bound::Unbounded))
        });
        let before = start.map_or(self.streams.range(..0), |c| self.streams.range(..=c));
        let order: Vec<u32> = after.chain(before).map(|(&k, _)| k).collect();
        for ssrc in order {
            if blocks.len() >= max {
                break;
            }
            if let Some(block) = self
                .streams
                .get_mut(&ssrc)
                .and_then(|s| s.stats.report_block(now))
            {
                blocks.push(block);
                self.report_cursor = Some(ssrc);
            }
        }
        blocks
    }

    /// Drops streams silent for the inactivity timeout; returns their SSRCs (so the router can
    /// forget them too).
    pub fn expire(&mut self, now: Instant) -> Vec<u32> {
        let timeout = self.config.inactivity_timeout;
        let gone: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| {
                s.stats
                    .last_packet()
                    .is_some_and(|t| now.saturating_duration_since(t) >= timeout)
            })
            .map(|(&k, _)| k)
            .collect();
        for ssrc in &gone {
            self.streams.remove(ssrc);
        }
        gone
    }

    /// Removes a stream (BYE).
    pub fn remove(&mut self, ssrc: u32) -> Option<ReceiveStream> {
        self.streams.remove(&ssrc)
    }

    /// The stream of `ssrc`.
    pub fn get(&self, ssrc: u32) -> Option<&ReceiveStream> {
        self.streams.get(&ssrc)
    }

    /// The stream of `ssrc`, mutable (for the modules that extend it).
    pub fn get_mut(&mut self, ssrc: u32) -> Option<&mut ReceiveStream> {
        self.streams.get_mut(&ssrc)
    }

    /// All streams, by SSRC.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &ReceiveStream)> + '_ {
        self.streams.iter().map(|(&k, v)| (k, v))
    }

    /// Number of streams.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Packets refused because the table was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::router::{ReceiverId, RoutedBy, StreamKind};

    fn route(ssrc: u32, receiver: u32) -> Route {
        Route {
            receiver: ReceiverId(receiver),
            ssrc,
            rid: None,
            kind: StreamKind::Media,
            by: RoutedBy::Ssrc,
            new_binding: false,
        }
    }

    fn config(max_streams: usize) -> StreamsConfig {
        StreamsConfig {
            max_streams,
            inactivity_timeout: Duration::from_secs(5),
            sequence: ReceiveConfig {
                min_sequential: 1,
                ..ReceiveConfig::new(90_000)
            },
        }
    }

    #[test]
    fn streams_account_packets_and_are_bounded() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStreams::new(config(2));
        let v = s.on_rtp(t0, &route(1, 0), 10, 0, 100, 48_000).unwrap();
        assert_eq!(v, Sequence::InOrder { extended: 10 });
        s.on_rtp(t0, &route(1, 0), 12, 960, 100, 48_000).unwrap();
        s.on_rtp(t0, &route(2, 1), 5, 0, 100, 90_000).unwrap();
        assert_eq!(
            s.on_rtp(t0, &route(3, 1), 5, 0, 1, 90_000),
            Err(StreamsFull)
        );
        assert_eq!(s.refused(), 1);
        assert_eq!(s.len(), 2);
        let one = s.get(1).unwrap();
        assert_eq!(one.stats.cumulative_lost(), 1);
        assert_eq!(one.stats.config().clock_rate, 48_000);
    }

    #[test]
    fn report_blocks_round_robin() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStreams::new(config(10));
        for ssrc in [30, 10, 20] {
            s.on_rtp(t0, &route(ssrc, 0), 1, 0, 1, 90_000).unwrap();
        }
        let ssrcs = |b: &ReportBlocks| b.iter().map(|b| b.ssrc).collect::<Vec<_>>();
        assert_eq!(ssrcs(&s.report_blocks(t0, 2)), vec![10, 20]);
        assert_eq!(ssrcs(&s.report_blocks(t0, 2)), vec![30, 10]);
        assert_eq!(ssrcs(&s.report_blocks(t0, 31)), vec![20, 30, 10]);
        assert!(s.report_blocks(t0, 0).is_empty());
    }

    #[test]
    fn sender_report_feeds_lsr_and_moving_ssrc_restarts_stats() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStreams::new(config(10));
        s.on_rtp(t0, &route(7, 0), 100, 0, 1, 90_000).unwrap();
        s.on_rtp(t0, &route(7, 0), 105, 0, 1, 90_000).unwrap();
        let sr = SenderReport {
            ssrc: 7,
            ntp_timestamp: 0x0000_0001_0002_0000,
            ..Default::default()
        };
        assert!(s.on_sender_report(t0, &sr));
        assert!(!s.on_sender_report(t0, &SenderReport::default()));
        let b = s.report_blocks(t0 + Duration::from_secs(2), 31);
        assert_eq!(b[0].last_sr, 0x0001_0002);
        assert_eq!(b[0].delay_since_last_sr, 2 * 65_536);
        assert_eq!(b[0].cumulative_lost, 4);
        // The router moved SSRC 7 to receiver 3: fresh statistics.
        s.on_rtp(t0, &route(7, 3), 2000, 0, 1, 90_000).unwrap();
        let st = &s.get(7).unwrap().stats;
        assert_eq!((st.expected(), st.cumulative_lost()), (1, 0));
        assert_eq!(s.get(7).unwrap().route.receiver, ReceiverId(3));
    }

    #[test]
    fn silent_streams_expire() {
        let t0 = ferrtc_testkit::epoch();
        let mut s = ReceiveStreams::new(config(10));
        s.on_rtp(t0, &route(1, 0), 1, 0, 1, 90_000).unwrap();
        s.on_rtp(t0 + Duration::from_secs(3), &route(2, 0), 1, 0, 1, 90_000)
            .unwrap();
        assert!(s.expire(t0 + Duration::from_secs(4)).is_empty());
        assert_eq!(s.expire(t0 + Duration::from_secs(5)), vec![1]);
        assert!(s.get(1).is_none() && s.get(2).is_some());
        assert!(s.remove(2).is_some());
        assert!(s.is_empty());
    }
}
