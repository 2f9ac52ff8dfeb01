//! The sections of an answer (RFC 8829 §5.3.1): the data section accepted, each audio/video
//! section answered for the transceiver associated with it (codecs and extensions
//! intersected, direction per RFC 3264 §6.1), everything else rejected.

use super::offer::build;
use super::remote::{RemoteInfo, RemoteMedia, RemoteSection};
use super::LocalSection;
use crate::media::codec;
use crate::media::transceiver::{Transceiver, TransceiverTable};
use crate::media::Direction;

/// Whether section `i` of `remote` can be accepted on our one transport: it is in the BUNDLE
/// group, or there is no group and it is the transport's section.
pub(crate) fn on_our_transport(remote: &RemoteInfo, i: usize) -> bool {
    let Some(sec) = remote.sections.get(i) else {
        return false;
    };
    match (&remote.bundle, &sec.mid) {
        (Some(g), Some(m)) => g.iter().any(|x| x == m),
        (Some(_), None) => false,
        (None, _) => remote.transport_index == Some(i),
    }
}

/// The direction of our answer (RFC 3264 §6.1, RFC 8829 §5.3.1): what the transceiver wants,
/// limited by the reverse of what the offer allows.
pub(crate) fn answer_direction(ours: Direction, offered: Direction) -> Direction {
    Direction::from_parts(
        ours.sends() && offered.receives(),
        ours.receives() && offered.sends(),
    )
}

/// The sections of an answer to `remote` (RFC 8829 §5.3.1). Transceivers were associated with
/// the remote's audio/video sections by mid when the offer was applied.
pub(crate) fn answer_sections(remote: &RemoteInfo, table: &TransceiverTable) -> Vec<LocalSection> {
    let tagged = remote.bundle.as_ref().and_then(|g| g.first());
    remote
        .sections
        .iter()
        .enumerate()
        .map(|(i, sec)| {
            let reject = || LocalSection::Rejected {
                kind: sec.kind.clone(),
                proto: sec.proto.clone(),
                formats: sec.formats.clone(),
                mid: sec.mid.clone(),
            };
            if sec.rejected {
                return reject();
            }
            if Some(i) == remote.data_index {
                return LocalSection::Data {
                    mid: sec.mid.clone().unwrap_or_else(|| i.to_string()),
                    proto: sec.proto.clone(),
                };
            }
            let is_tagged = tagged.is_some() && sec.mid.as_ref() == tagged;
            // No media for this section, but rejecting the offerer-tagged section would reject
            // the whole BUNDLE group (RFC 8843 §7.3.3): answer it inactive.
            let inactive_or_reject = || match sec.formats.first() {
                Some(f) if is_tagged => LocalSection::Inactive {
                    kind: sec.kind.clone(),
                    proto: sec.proto.clone(),
                    mid: sec.mid.clone(),
                    format: f.clone(),
                    format_lines: sec.format_lines.clone(),
                },
                _ => reject(),
            };
            let (Some(media), Some(mid)) = (&sec.media, &sec.mid) else {
                return inactive_or_reject();
            };
            if !on_our_transport(remote, i) {
                return reject();
            }
            match table.by_mid(mid) {
                Some(t) if !t.stopped && !t.stopping && t.kind == media.kind => {
                    match answer_media(t, sec, media, table.cname()) {
                        Some(m) => m,
                        None => inactive_or_reject(),
                    }
                }
                _ => inactive_or_reject(),
            }
        })
        .collect()
}

/// The answer section of `t` to the remote section, `None` without a codec in common.
fn answer_media(
    t: &Transceiver,
    sec: &RemoteSection,
    media: &RemoteMedia,
    cname: &str,
) -> Option<LocalSection> {
    let codecs = codec::intersect(
        &t.local_codecs(),
        &media.codecs,
        !t.codec_preferences.is_empty(),
    );
    if codecs.is_empty() {
        return None;
    }
    let extensions: Vec<(u8, String)> = media
        .extensions
        .iter()
        .filter(|(_, uri)| codec::supports_extension(t.kind, uri))
        .cloned()
        .collect();
    let mid = sec.mid.clone()?;
    let direction = answer_direction(t.direction, media.direction);
    let mut m = build(
        t,
        mid,
        cname,
        direction,
        codecs,
        extensions,
        media.rtcp_rsize,
    );
    // Simulcast (RFC 8853 §5.3): we receive the layers the offer sends, and send the layers
    // the offer receives that we have.
    m.recv_rids = media.send_rids.clone();
    // RFC 8285 §6: an answerer that supports mixed one- and two-byte extensions (ferrtc reads
    // both) includes the attribute when the offer has it; at media level here, at session
    // level in `write_local`.
    m.extmap_allow_mixed = media.extmap_allow_mixed;
    let ours = t.send_rids();
    m.send_rids = media
        .recv_rids
        .iter()
        .filter(|r| ours.contains(r))
        .cloned()
        .collect();
    Some(LocalSection::Media(Box::new(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3264_direction_table() {
        use Direction::*;
        // (transceiver, offered) -> answered
        let cases = [
            (SendRecv, SendRecv, SendRecv),
            (SendRecv, SendOnly, RecvOnly),
            (SendRecv, RecvOnly, SendOnly),
            (SendRecv, Inactive, Inactive),
            (RecvOnly, SendRecv, RecvOnly),
            (RecvOnly, RecvOnly, Inactive),
            (SendOnly, SendRecv, SendOnly),
            (SendOnly, SendOnly, Inactive),
            (Inactive, SendRecv, Inactive),
        ];
        for (ours, offered, want) in cases {
            assert_eq!(
                answer_direction(ours, offered),
                want,
                "{ours:?} {offered:?}"
            );
        }
    }
}
