//! The sections of an offer (RFC 8829 §5.2.1 initial offers, §5.2.2 subsequent ones).

use super::{LocalSection, MediaSection, DATA_PROTO, MEDIA_PROTO};
use crate::media::codec;
use crate::media::transceiver::{Transceiver, TransceiverTable};
use crate::media::{Codec, Direction};

/// The sections of our next offer (RFC 8829 §5.2.1, §5.2.2): those already negotiated, in
/// their order (an m= section is never removed), each transceiver's section rewritten from its
/// current state (port 0 once it is stopped or stopping); then the transceivers without a
/// section, each in the first rejected slot (recycled with a new mid, §5.2.2) or appended;
/// then a data section when a channel needs one and none was negotiated yet.
/// `taken_mids` are mids the offer must not reuse (those of the remote description).
pub(crate) fn offer_sections(
    negotiated: &[LocalSection],
    want_data: bool,
    table: &TransceiverTable,
    taken_mids: &[String],
) -> Vec<LocalSection> {
    let mut secs: Vec<LocalSection> = Vec::with_capacity(negotiated.len() + 2);
    for s in negotiated {
        match s {
            LocalSection::Media(m) => match table.get(m.transceiver) {
                Some(t) if !t.stopped && !t.stopping => {
                    secs.push(LocalSection::Media(Box::new(media_section(
                        t,
                        m.mid.clone(),
                        table.cname(),
                    ))));
                }
                _ => secs.push(LocalSection::Rejected {
                    kind: m.kind.as_str().to_owned(),
                    proto: MEDIA_PROTO.to_owned(),
                    formats: vec![m
                        .codecs
                        .first()
                        .map_or_else(|| "0".to_owned(), |c| c.payload_type.to_string())],
                    mid: Some(m.mid.clone()),
                }),
            },
            other => secs.push(other.clone()),
        }
    }
    // Transceivers without a section in the negotiated description.
    // (A transceiver whose mid already names a section is placed too: the section answered
    // inactive for want of a common codec keeps being re-offered as it was.)
    let placed = |secs: &[LocalSection], t: &Transceiver| {
        secs.iter().any(|s| match s {
            LocalSection::Media(m) => m.transceiver == t.id,
            other => t.mid.is_some() && other.mid() == t.mid.as_deref(),
        })
    };
    // Slots that may be recycled (§5.2.2: a zero port in the current local or remote
    // description): sections we rejected, and sections whose transceiver the answer stopped;
    // not the ones just rejected for a stopping transceiver (that must be negotiated first).
    let mut recyclable: Vec<usize> = negotiated
        .iter()
        .enumerate()
        .filter(|(_, s)| match s {
            LocalSection::Rejected { .. } => true,
            LocalSection::Media(m) => table.get(m.transceiver).is_none_or(|t| t.stopped),
            _ => false,
        })
        .map(|(i, _)| i)
        .collect();
    recyclable.reverse();
    let fresh: Vec<&Transceiver> = table
        .iter()
        .filter(|t| !t.stopped && !t.stopping && !placed(&secs, t))
        .collect();
    for t in fresh {
        // A transceiver associated by a remote offer keeps its mid.
        let mid = match &t.mid {
            Some(m) if !secs.iter().any(|s| s.mid() == Some(m.as_str())) => m.clone(),
            _ => fresh_mid(&secs, table, taken_mids),
        };
        let sec = LocalSection::Media(Box::new(media_section(t, mid, table.cname())));
        match recyclable.pop().and_then(|i| secs.get_mut(i)) {
            Some(slot) => *slot = sec,
            None => secs.push(sec),
        }
    }
    let has_data = secs.iter().any(|s| matches!(s, LocalSection::Data { .. }));
    if want_data && !has_data {
        let mid = fresh_mid(&secs, table, taken_mids);
        secs.push(LocalSection::Data {
            mid,
            proto: DATA_PROTO.to_owned(),
        });
    }
    secs
}

/// The offered section of transceiver `t` (RFC 8829 §5.2.1): its codecs (those negotiated
/// first, with their payload types, then the rest of ours whose payload types are free,
/// §5.2.2), extensions likewise, rtcp-rsize, msid and SSRCs.
pub(crate) fn media_section(t: &Transceiver, mid: String, cname: &str) -> MediaSection {
    let (codecs, extensions) = match &t.negotiated {
        Some(n) => {
            let mut codecs = n.codecs.clone();
            for c in t.local_codecs() {
                let used = |pt: u8| {
                    codecs
                        .iter()
                        .any(|x| x.payload_type == pt || x.rtx_payload_type == Some(pt))
                };
                let same_format = codecs.iter().any(|x| codec::match_codec(&c, x).is_some());
                if !same_format && !used(c.payload_type) && !c.rtx_payload_type.is_some_and(used) {
                    codecs.push(c);
                }
            }
            let mut ext = n.extensions.clone();
            for (id, uri) in codec::default_extensions(t.kind) {
                if !ext.iter().any(|(i, u)| *i == id || *u == uri) {
                    ext.push((id, uri));
                }
            }
            (codecs, ext)
        }
        None => (t.local_codecs(), codec::default_extensions(t.kind)),
    };
    build(t, mid, cname, t.direction, codecs, extensions, true)
}

/// A section for `t` with these negotiated parts.
pub(crate) fn build(
    t: &Transceiver,
    mid: String,
    cname: &str,
    direction: Direction,
    codecs: Vec<Codec>,
    extensions: Vec<(u8, String)>,
    rtcp_rsize: bool,
) -> MediaSection {
    let has_rtx = codecs.iter().any(|c| c.rtx_payload_type.is_some());
    MediaSection {
        transceiver: t.id,
        kind: t.kind,
        mid,
        direction,
        codecs,
        extensions,
        rtcp_rsize,
        stream_ids: t.stream_ids.clone(),
        track_id: t.sender_msid_track.clone(),
        ssrc: t.local_ssrc,
        rtx_ssrc: if has_rtx { t.local_rtx_ssrc } else { None },
        cname: cname.to_owned(),
        send_rids: t.send_rids(),
        recv_rids: Vec::new(),
        extmap_allow_mixed: false,
    }
}

/// The first decimal mid, counting from the number of sections, that no section, transceiver
/// or remote section uses.
fn fresh_mid(secs: &[LocalSection], table: &TransceiverTable, taken: &[String]) -> String {
    let mut n = secs.len();
    loop {
        let m = n.to_string();
        let used = secs.iter().any(|s| s.mid() == Some(m.as_str()))
            || table.by_mid(&m).is_some()
            || taken.contains(&m);
        if !used {
            return m;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::media::{MediaKind, TransceiverInit};
    use rand::SeedableRng;

    #[test]
    fn first_offer_gets_mid_zero_and_a_taken_mid_is_skipped() {
        let table = TransceiverTable::new();
        let first = offer_sections(&[], true, &table, &[]);
        assert!(matches!(&first[..], [LocalSection::Data { mid, .. }] if mid == "0"));
        assert!(offer_sections(&[], false, &table, &[]).is_empty());
        // Two sections negotiated, one of them with mid "2": the new one is "3".
        let negotiated = [
            LocalSection::Rejected {
                kind: "audio".into(),
                proto: "RTP/AVP".into(),
                formats: vec!["0".into()],
                mid: Some("2".into()),
            },
            LocalSection::Rejected {
                kind: "video".into(),
                proto: "RTP/AVP".into(),
                formats: vec!["96".into()],
                mid: Some("a".into()),
            },
        ];
        let secs = offer_sections(&negotiated, true, &table, &[]);
        assert_eq!(secs.len(), 3);
        assert!(matches!(&secs[2], LocalSection::Data { mid, .. } if mid == "3"));
        // A data section already negotiated: nothing added.
        assert_eq!(offer_sections(&secs, true, &table, &[]).len(), 3);
        // A mid of the remote description is not reused.
        let secs = offer_sections(&[], true, &table, &["0".into()]);
        assert!(matches!(&secs[..], [LocalSection::Data { mid, .. }] if mid == "1"));
    }

    #[test]
    fn transceivers_first_then_data_and_rejected_slots_recycled() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut table = TransceiverTable::new();
        let a = table.add(MediaKind::Audio, TransceiverInit::default(), None, &mut rng);
        let v = table.add(MediaKind::Video, TransceiverInit::default(), None, &mut rng);
        let secs = offer_sections(&[], true, &table, &[]);
        let mids: Vec<&str> = secs.iter().filter_map(LocalSection::mid).collect();
        assert_eq!(mids, ["0", "1", "2"]);
        assert!(matches!(&secs[0], LocalSection::Media(m) if m.transceiver == a));
        assert!(matches!(&secs[1], LocalSection::Media(m) if m.transceiver == v));
        assert!(matches!(&secs[2], LocalSection::Data { .. }));
        // Audio stopped: its section is rejected in the next offer, in place.
        for t in table.iter_mut() {
            t.mid = Some(if t.id == a { "0" } else { "1" }.to_owned());
        }
        table.get_mut(a).unwrap().stopping = true;
        let next = offer_sections(&secs, true, &table, &[]);
        assert!(
            matches!(&next[0], LocalSection::Rejected { mid: Some(m), kind, .. } if m == "0" && kind == "audio")
        );
        // Once that rejection is negotiated, a new transceiver takes the slot with a new mid.
        table.get_mut(a).unwrap().stopped = true;
        let w = table.add(MediaKind::Video, TransceiverInit::default(), None, &mut rng);
        let again = offer_sections(&next, true, &table, &[]);
        assert_eq!(again.len(), 3);
        match &again[0] {
            LocalSection::Media(m) => {
                assert_eq!(m.transceiver, w);
                assert_eq!(m.mid, "3");
            }
            other => panic!("{other:?}"),
        }
    }
}
