//! RTP congestion control feedback (RTPFB FMT 11, RFC 8888 §3.1).

use bytes::BufMut;

use crate::wire::Body;
use crate::Error;

/// Most metric blocks one report block may carry (RFC 8888 §3.1).
pub const MAX_REPORTS_PER_BLOCK: usize = 16384;

/// One 16-bit packet metric block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketMetric {
    /// R: the packet was received.
    pub received: bool,
    /// The echoed ECN mark (2 bits).
    pub ecn: u8,
    /// Arrival time offset before the report timestamp, in 1/1024 s (13 bits; 0x1FFE over
    /// range, 0x1FFF unavailable).
    pub arrival_time_offset: u16,
}

/// The metrics of one RTP stream, for sequence numbers `begin_seq..begin_seq + metrics.len()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CcfbReportBlock {
    /// The stream reported on.
    pub ssrc: u32,
    /// First sequence number.
    pub begin_seq: u16,
    /// One metric per packet (at most 16384 are written). `num_reports` on the wire is the
    /// number of metric blocks (RFC 8888 erratum 6338 reading).
    pub metrics: Vec<PacketMetric>,
}

/// Congestion control feedback.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CongestionControlFeedback {
    /// Sender of this feedback.
    pub sender_ssrc: u32,
    /// Report blocks, one per stream.
    pub blocks: Vec<CcfbReportBlock>,
    /// Report timestamp: the middle 32 bits of an NTP timestamp.
    pub report_timestamp: u32,
}

impl CongestionControlFeedback {
    pub(crate) fn parse(r: &mut Body<'_>) -> Result<Self, Error> {
        let sender_ssrc = r.u32("CCFB sender SSRC")?;
        let mut blocks = Vec::new();
        while r.remaining() > 4 {
            let ssrc = r.u32("CCFB report block SSRC")?;
            let begin_seq = r.u16("CCFB begin_seq")?;
            let n = usize::from(r.u16("CCFB num_reports")?);
            if n > MAX_REPORTS_PER_BLOCK {
                return Err(r.invalid("CCFB num_reports", "more than 16384 metric blocks"));
            }
            let padded = n + n % 2;
            let raw = r.slice(2 * padded, "CCFB packet metric blocks")?;
            let mut metrics = Vec::with_capacity(n);
            for m in raw.chunks_exact(2).take(n) {
                let v = u16::from_be_bytes([
                    m.first().copied().unwrap_or(0),
                    m.get(1).copied().unwrap_or(0),
                ]);
                metrics.push(PacketMetric {
                    received: v & 0x8000 != 0,
                    ecn: ((v >> 13) & 3) as u8,
                    arrival_time_offset: v & 0x1fff,
                });
            }
            blocks.push(CcfbReportBlock {
                ssrc,
                begin_seq,
                metrics,
            });
        }
        let report_timestamp = r.u32("CCFB report timestamp")?;
        Ok(Self {
            sender_ssrc,
            blocks,
            report_timestamp,
        })
    }

    fn metrics(b: &CcfbReportBlock) -> &[PacketMetric] {
        b.metrics
            .get(..b.metrics.len().min(MAX_REPORTS_PER_BLOCK))
            .unwrap_or(&[])
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + self
            .blocks
            .iter()
            .map(|b| {
                let n = Self::metrics(b).len();
                8 + 2 * (n + n % 2)
            })
            .sum::<usize>()
            + 4
    }

    pub(crate) fn write_body(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_ssrc);
        for b in &self.blocks {
            let m = Self::metrics(b);
            out.put_u32(b.ssrc);
            out.put_u16(b.begin_seq);
            out.put_u16(m.len() as u16);
            for x in m {
                out.put_u16(
                    u16::from(x.received) << 15
                        | u16::from(x.ecn & 3) << 13
                        | (x.arrival_time_offset & 0x1fff),
                );
            }
            if m.len() % 2 == 1 {
                out.put_u16(0);
            }
        }
        out.put_u32(self.report_timestamp);
    }
}
