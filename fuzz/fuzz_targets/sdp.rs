//! SDP: parse arbitrary bytes; whatever parses must print (CRLF) the same lines, keep its
//! typed values when re-printed from the typed views and parsed again (the shared check of
//! crates/sdp/tests/common), and every typed accessor must run without panicking.
#![no_main]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ferrtc_sdp::SessionDescription;
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sdp/tests/common/mod.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(sdp) = SessionDescription::from_bytes(data) else {
        return;
    };
    let printed = sdp.to_string();
    // Lossless: the same lines, with CRLF endings.
    let text = std::str::from_utf8(data).unwrap();
    let expected: String = text
        .split_inclusive('\n')
        .map(|l| {
            let l = l.strip_suffix('\n').unwrap_or(l);
            let l = l.strip_suffix('\r').unwrap_or(l);
            format!("{l}\r\n")
        })
        .collect();
    assert_eq!(printed, expected);
    assert_eq!(sdp.encoded_len(), printed.len());
    let mut buf = Vec::new();
    sdp.write_to(&mut buf);
    assert_eq!(buf, printed.as_bytes());

    // Typed values, not the stored text: re-print from the typed views, parse, compare.
    common::typed_round_trip(&sdp);

    // Typed views never panic, and typed attributes print back into valid attributes.
    let _ = (
        sdp.origin(),
        sdp.session_name(),
        sdp.connection(),
        sdp.ice_lite(),
    );
    let _ = (
        sdp.timings().count(),
        sdp.bandwidths().count(),
        sdp.groups().count(),
    );
    for a in sdp.attributes() {
        let line = a.to_string();
        ferrtc_sdp::Attribute::parse_line(&line).unwrap();
    }
    for m in sdp.media() {
        let _ = (
            m.media_line(),
            m.mid(),
            m.direction(),
            m.connection(),
            m.rtcp(),
        );
        let _ = (
            m.ice_credentials(),
            m.ice_options(),
            m.fingerprints(),
            m.setup(),
        );
        let _ = (
            m.sctp_port(),
            m.max_message_size(),
            m.ptime(),
            m.simulcast(),
        );
        let _ = (m.extmaps().count(), m.ssrcs().count(), m.rids().count());
        let _ = m.ssrc_groups().map(|g| g.ssrcs().count()).sum::<usize>();
        for f in m.fingerprints() {
            let _ = f.bytes();
        }
        for c in m.codecs() {
            let _ = c.fmtp_params();
        }
        for a in m.attributes() {
            let line = a.to_string();
            let back = ferrtc_sdp::Attribute::parse_line(&line).unwrap();
            assert_eq!(back, a);
        }
    }
});
