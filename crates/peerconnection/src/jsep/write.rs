//! Writing a local description (RFC 8829 §5.2.1 offers, §5.3.1 answers).

use std::fmt::Write as _;

use ferrtc_ice::Credentials;
use ferrtc_sdp::Setup;

use super::{LocalSection, DATA_FORMAT};

/// Everything a local description is written from.
#[derive(Debug)]
pub(crate) struct LocalParams<'a> {
    pub session_id: u64,
    pub session_version: u64,
    pub creds: &'a Credentials,
    pub fingerprint: &'a str,
    pub setup: Setup,
    pub ice_lite: bool,
    pub sections: &'a [LocalSection],
    pub bundle: bool,
    pub sctp_port: u16,
    pub max_message_size: u64,
    pub candidates: &'a [String],
    pub end_of_candidates: bool,
}

/// Writes a local description (RFC 8829 §5.2.1 / §5.3.1).
pub(crate) fn write_local(p: &LocalParams<'_>) -> String {
    let mut s = String::with_capacity(1024);
    let _ = write!(
        s,
        "v=0\r\no=- {} {} IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
        p.session_id, p.session_version
    );
    let live: Vec<&str> = p
        .sections
        .iter()
        .filter(|x| !matches!(x, LocalSection::Rejected { .. }))
        .filter_map(LocalSection::mid)
        .collect();
    if p.bundle && !live.is_empty() {
        let _ = write!(s, "a=group:BUNDLE {}\r\n", live.join(" "));
    }
    if p.ice_lite {
        s.push_str("a=ice-lite\r\n");
    }
    s.push_str("a=msid-semantic: WMS\r\n");
    let mut first_live = true;
    for sec in p.sections {
        let transport = |s: &mut String, first: &mut bool| {
            let _ = write!(
                s,
                "c=IN IP4 0.0.0.0\r\na=ice-ufrag:{}\r\na=ice-pwd:{}\r\n",
                p.creds.ufrag, p.creds.pwd
            );
            if !p.ice_lite {
                s.push_str("a=ice-options:trickle\r\n");
            }
            let _ = write!(
                s,
                "a=fingerprint:{}\r\na=setup:{}\r\n",
                p.fingerprint,
                p.setup.as_str()
            );
            if *first {
                for c in p.candidates {
                    let _ = write!(s, "a={c}\r\n");
                }
                if p.end_of_candidates {
                    s.push_str("a=end-of-candidates\r\n");
                }
                *first = false;
            }
        };
        match sec {
            LocalSection::Data { mid, proto } => {
                let _ = write!(s, "m=application 9 {proto} {DATA_FORMAT}\r\n");
                transport(&mut s, &mut first_live);
                let _ = write!(
                    s,
                    "a=mid:{mid}\r\na=sctp-port:{}\r\na=max-message-size:{}\r\n",
                    p.sctp_port, p.max_message_size
                );
            }
            LocalSection::Inactive {
                kind,
                proto,
                mid,
                format,
                format_lines,
            } => {
                let _ = write!(s, "m={kind} 9 {proto} {format}\r\n");
                transport(&mut s, &mut first_live);
                if let Some(mid) = mid {
                    let _ = write!(s, "a=mid:{mid}\r\n");
                }
                s.push_str("a=inactive\r\na=rtcp-mux\r\n");
                for l in format_lines {
                    let _ = write!(s, "{l}\r\n");
                }
            }
            LocalSection::Rejected {
                kind,
                proto,
                formats,
                mid,
            } => {
                let f = if formats.is_empty() {
                    "0".to_owned()
                } else {
                    formats.join(" ")
                };
                let _ = write!(s, "m={kind} 0 {proto} {f}\r\nc=IN IP4 0.0.0.0\r\n");
                if let Some(mid) = mid {
                    let _ = write!(s, "a=mid:{mid}\r\n");
                }
            }
        }
    }
    s
}
