//! The sections of an answer (RFC 8829 §5.3.1): the data section accepted, bundled
//! audio/video sections answered `inactive`, everything else rejected.

use super::remote::RemoteInfo;
use super::LocalSection;

/// The sections of an answer to `remote` (RFC 8829 §5.3.1).
pub(crate) fn answer_sections(remote: &RemoteInfo) -> Vec<LocalSection> {
    let bundled = |mid: &Option<String>| match (&remote.bundle, mid) {
        (Some(g), Some(m)) => g.iter().any(|x| x == m),
        _ => false,
    };
    let data_bundled = remote
        .data_index
        .and_then(|i| remote.sections.get(i))
        .is_some_and(|s| bundled(&s.mid));
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
            let media = sec.kind == "audio" || sec.kind == "video";
            match sec.formats.first() {
                Some(f) if media && data_bundled && bundled(&sec.mid) => LocalSection::Inactive {
                    kind: sec.kind.clone(),
                    proto: sec.proto.clone(),
                    mid: sec.mid.clone(),
                    format: f.clone(),
                    format_lines: sec.format_lines.clone(),
                },
                _ => reject(),
            }
        })
        .collect()
}
