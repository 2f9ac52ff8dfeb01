//! Making a feedback message from (sequence number, arrival time) records (draft §3.1):
//! run-length and status-vector chunks, receive deltas in 250 µs ticks.

use super::{PacketStatus, PacketStatusChunk, TransportCc, DELTA_TICK_US, REFERENCE_TIME_UNIT_US};
use crate::wire::pad4;
use crate::Error;

/// Builds transport-wide CC feedback from (sequence number, arrival time) records.
///
/// Records may come in any order; sequence numbers are unwrapped relative to the first one
/// added, and packets between the lowest and highest that were not added are reported as not
/// received. Arrival times are microseconds on the receiver's clock; deltas are rounded to
/// 250 µs ticks without drift (each is taken from the rounded running time).
#[derive(Clone, Debug, Default)]
pub struct TransportCcBuilder {
    records: Vec<(i64, i64)>,
    first: Option<u16>,
}

impl TransportCcBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that packet `sequence_number` arrived at `arrival_us`.
    pub fn add(&mut self, sequence_number: u16, arrival_us: i64) -> &mut Self {
        let first = *self.first.get_or_insert(sequence_number);
        let ext = i64::from(first) + i64::from(sequence_number.wrapping_sub(first) as i16);
        self.records.push((ext, arrival_us));
        self
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Builds the feedback. Fails when no packet was added, when the records span more than
    /// 65535 sequence numbers, or when two consecutive arrivals are more than ±8.19 s apart
    /// (the range of a large delta): split the records over several messages then.
    pub fn build(
        &self,
        sender_ssrc: u32,
        media_ssrc: u32,
        feedback_packet_count: u8,
    ) -> Result<TransportCc, Error> {
        const WHAT: &str = "transport-cc feedback";
        let mut recs = self.records.clone();
        recs.sort_by_key(|r| r.0);
        recs.dedup_by_key(|r| r.0);
        let (Some(&(lo, _)), Some(&(hi, _))) = (recs.first(), recs.last()) else {
            return Err(Error::Build {
                what: WHAT,
                why: "no packets",
            });
        };
        let count = u16::try_from(hi - lo + 1).map_err(|_| Error::Build {
            what: WHAT,
            why: "records span more than 65535 sequence numbers",
        })?;
        // Reference time: the first arrival (in sequence order), floored to 64 ms.
        let first_arrival = recs.first().map_or(0, |r| r.1);
        let ref_units = first_arrival.div_euclid(REFERENCE_TIME_UNIT_US);
        let mut t = ref_units * REFERENCE_TIME_UNIT_US;
        let mut statuses = Vec::with_capacity(usize::from(count));
        let mut deltas = Vec::with_capacity(recs.len());
        let mut it = recs.iter().peekable();
        for seq in lo..=hi {
            match it.peek() {
                Some(&&(s, arrival)) if s == seq => {
                    it.next();
                    let ticks = (arrival - t).div_euclid(DELTA_TICK_US);
                    let d = i16::try_from(ticks).map_err(|_| Error::Build {
                        what: WHAT,
                        why: "two consecutive arrivals are more than 8.19 s apart",
                    })?;
                    t += i64::from(d) * DELTA_TICK_US;
                    statuses.push(if (0..=255).contains(&d) {
                        PacketStatus::SmallDelta
                    } else {
                        PacketStatus::LargeDelta
                    });
                    deltas.push(d);
                }
                _ => statuses.push(PacketStatus::NotReceived),
            }
        }
        let chunks = encode_chunks(&statuses);
        let mut fb = TransportCc::from_parts(
            sender_ssrc,
            media_ssrc,
            lo as u16,
            count,
            (ref_units & 0x00ff_ffff) as u32,
            feedback_packet_count,
            &chunks,
            &deltas,
        )?;
        // Align with RTCP padding (P bit), as libwebrtc does.
        fb.padding = pad4(fb.unpadded_len()) as u8;
        Ok(fb)
    }
}

/// Encodes statuses into chunks: a run-length chunk for runs of 14 or more (or a run that ends
/// the list), else a one-bit vector when the next 14 need no large delta, else a two-bit vector.
fn encode_chunks(s: &[PacketStatus]) -> Vec<PacketStatusChunk> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&first) = s.get(i) {
        let rest = s.get(i..).unwrap_or(&[]);
        let run = rest.iter().take(8191).take_while(|&&x| x == first).count();
        if run >= 14 || run == rest.len() {
            out.push(PacketStatusChunk::RunLength {
                status: first,
                run_length: run as u16,
            });
            i += run;
            continue;
        }
        let next14 = rest.get(..14.min(rest.len())).unwrap_or(&[]);
        if next14
            .iter()
            .all(|&x| matches!(x, PacketStatus::NotReceived | PacketStatus::SmallDelta))
        {
            let mut v = [PacketStatus::NotReceived; 14];
            for (slot, x) in v.iter_mut().zip(next14) {
                *slot = *x;
            }
            out.push(PacketStatusChunk::OneBit(v));
            i += 14;
        } else {
            let mut v = [PacketStatus::NotReceived; 7];
            for (slot, x) in v.iter_mut().zip(rest.iter().take(7)) {
                *slot = *x;
            }
            out.push(PacketStatusChunk::TwoBit(v));
            i += 7;
        }
    }
    out
}
