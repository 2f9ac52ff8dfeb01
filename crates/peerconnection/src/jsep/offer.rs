//! The sections of an offer (RFC 8829 §5.2.1 initial offers, §5.2.2 subsequent ones).

use super::{LocalSection, DATA_PROTO};

/// The sections of our next offer: those already negotiated, in their order (RFC 8829
/// §5.2.2: an m= section is never removed), plus a data section when a channel needs one
/// and none was negotiated yet.
pub(crate) fn offer_sections(negotiated: &[LocalSection], want_data: bool) -> Vec<LocalSection> {
    let mut secs = negotiated.to_vec();
    let has_data = secs.iter().any(|s| matches!(s, LocalSection::Data { .. }));
    if want_data && !has_data {
        let mid = fresh_mid(&secs);
        secs.push(LocalSection::Data {
            mid,
            proto: DATA_PROTO.to_owned(),
        });
    }
    secs
}

/// The first decimal mid, counting from the number of sections, that no section uses.
fn fresh_mid(secs: &[LocalSection]) -> String {
    let mut n = secs.len();
    loop {
        let m = n.to_string();
        if !secs.iter().any(|s| s.mid() == Some(m.as_str())) {
            return m;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_offer_gets_mid_zero_and_a_taken_mid_is_skipped() {
        let first = offer_sections(&[], true);
        assert!(matches!(&first[..], [LocalSection::Data { mid, .. }] if mid == "0"));
        assert!(offer_sections(&[], false).is_empty());
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
        let secs = offer_sections(&negotiated, true);
        assert_eq!(secs.len(), 3);
        assert!(matches!(&secs[2], LocalSection::Data { mid, .. } if mid == "3"));
        // A data section already negotiated: nothing added.
        assert_eq!(offer_sections(&secs, true).len(), 3);
    }
}
