//! The RFC 8866 line grammar and the WebRTC attribute grammars, with nom 8.
//!
//! Each value is read field by field with nom's `Parser` combinators over `&str`
//! ([`sp`]: `field [SP rest]`, [`at`]: `field <sep> rest`, built from `take_till`, `char`,
//! `preceded` and `rest`); the value checks between the fields (tokens, number ranges)
//! are the helpers of attribute.rs, so a failure says which field is wrong and whether it
//! is the grammar ([`Problem::Syntax`]) or a number out of range ([`Problem::Value`]); the
//! caller adds the line number. The hand-written parsers these replaced were checked against
//! them by a differential test and fuzz target (see the git history) and removed.
//!
//! The hot attributes of a WebRTC offer (rtcp-fb, rtpmap, fmtp, extmap, ssrc, …) are first
//! offered to `attribute::quick_valid`, a hand-tuned yes/no scan; only lines it does not
//! accept come here (docs/performance.md).

use nom::bytes::complete::take_till;
use nom::character::complete::char;
use nom::combinator::rest;
use nom::sequence::preceded;
use nom::Parser;

use crate::attribute::{
    decimal, flag, need, non_ws, number_u16, number_u32, number_u64, pt, split_attribute,
    Attribute, Direction, Extmap, Fingerprint, Fmtp, Group, Kind, Msid, MsidSemantic, Rid,
    RidDirection, Rtcp, RtcpFb, Rtpmap, Setup, Simulcast, SimulcastList, Ssrc, SsrcGroup,
};
use crate::error::Problem;
use crate::fields::{Bandwidth, Connection, MediaKind, MediaLine, Origin, Timing};
use crate::util::{is_digits, is_non_ws, is_token, is_token_list, parse_u16};

type VResult<T> = Result<T, Problem>;

/// `field [<sep> rest]`: the text up to the first `sep`, and what follows it if there is
/// one (nom over the bytes: `take_till(sep)` then `preceded(char(sep), rest)`; `sep` is
/// ASCII, so both cuts fall on character boundaries).
#[inline]
fn split_on(i: &str, sep: u8) -> (&str, Option<&str>) {
    let b = i.as_bytes();
    let Ok((tail, head)) = take_till::<_, &[u8], ()>(|c| c == sep).parse(b) else {
        return (i, None);
    };
    let head = i.get(..head.len()).unwrap_or(i);
    match preceded(char::<&[u8], ()>(char::from(sep)), rest).parse(tail) {
        Ok((_, r)) => (head, i.get(b.len().saturating_sub(r.len())..)),
        Err(_) => (head, None),
    }
}

/// `field [SP rest]`.
#[inline]
pub(crate) fn sp(i: &str) -> (&str, Option<&str>) {
    split_on(i, b' ')
}

/// `field <sep> rest`, or `None` without `sep`.
#[inline]
pub(crate) fn at(i: &str, sep: u8) -> Option<(&str, &str)> {
    match split_on(i, sep) {
        (head, Some(r)) => Some((head, r)),
        (_, None) => None,
    }
}

pub(crate) fn origin<'a>(v: &'a str) -> VResult<Origin<'a>> {
    // Six fields separated by single spaces (byte scans, no `str::split` searcher).
    let mut rest = Some(v);
    let mut next = |what: &'static str| -> VResult<&'a str> {
        let (field, tail) = sp(rest.unwrap_or(""));
        match rest {
            Some(_) if is_non_ws(field) => {
                rest = tail;
                Ok(field)
            }
            _ => Err(
                format!("expected 6 fields separated by single spaces, {what} is missing").into(),
            ),
        }
    };
    let username = next("username")?;
    let session_id = next("sess-id")?;
    let session_version = next("sess-version")?;
    let nettype = next("nettype")?;
    let addrtype = next("addrtype")?;
    let unicast_address = next("unicast-address")?;
    if rest.is_some() {
        return Err("more than 6 fields".into());
    }
    if !is_digits(session_id) {
        return Err(format!("sess-id {session_id:?} is not digits").into());
    }
    if !is_digits(session_version) {
        return Err(format!("sess-version {session_version:?} is not digits").into());
    }
    if !is_token(nettype) || !is_token(addrtype) {
        return Err("nettype and addrtype must be tokens".into());
    }
    Ok(Origin {
        username,
        session_id,
        session_version,
        nettype,
        addrtype,
        unicast_address,
    })
}

pub(crate) fn connection<'a>(v: &'a str) -> VResult<Connection<'a>> {
    let (nettype, rest) = sp(v);
    let (addrtype, address) = sp(rest.unwrap_or(""));
    let address = address.unwrap_or("");
    if !is_token(nettype) || !is_token(addrtype) || !is_non_ws(address) {
        return Err(
            "expected <nettype> <addrtype> <address>: two tokens and an address, separated by single spaces"
                .into(),
        );
    }
    Ok(Connection {
        nettype,
        addrtype,
        address,
    })
}

pub(crate) fn bandwidth<'a>(v: &'a str) -> VResult<Bandwidth<'a>> {
    let (bwtype, bw) = at(v, b':').ok_or("expected <bwtype>:<bandwidth>")?;
    if !is_token(bwtype) {
        return Err(format!("bandwidth type {bwtype:?} is not a token").into());
    }
    let bandwidth = number_u64(bw, "bandwidth")?;
    Ok(Bandwidth { bwtype, bandwidth })
}

pub(crate) fn timing(v: &str) -> VResult<Timing> {
    let (a, b) = at(v, b' ').ok_or("expected <start-time> <stop-time>")?;
    let start = number_u64(a, "start time")?;
    let stop = number_u64(b, "stop time")?;
    Ok(Timing { start, stop })
}

pub(crate) fn media_line<'a>(v: &'a str) -> VResult<MediaLine<'a>> {
    let (kind, rest) = sp(v);
    if !is_token(kind) {
        return Err(format!("media type {kind:?} is not a token").into());
    }
    let rest = rest.ok_or("expected <media> <port> <proto> <fmt>…")?;
    let (port_s, rest) = sp(rest);
    let (port, num_ports) = match at(port_s, b'/') {
        Some((p, n)) => (p, Some(n)),
        None => (port_s, None),
    };
    let port = number_u16(port, "port")?;
    let num_ports = match num_ports {
        Some(n) => match number_u16(n, "number of ports")? {
            0 => return Err(Problem::range("number of ports 0", "1-65535")),
            n => Some(n),
        },
        None => None,
    };
    let rest = rest.ok_or("expected <proto> <fmt>… after the port")?;
    let (protocol, formats) = sp(rest);
    if !crate::fields::is_slash_tokens(protocol) {
        return Err(format!("protocol {protocol:?} is not token[/token]…").into());
    }
    // RFC 8866 wants at least one format. Some older browsers reject a section with
    // `m=<media> 0 <proto>` and nothing after: accepted when the port is 0 (nothing is
    // negotiated in a rejected section, so nothing is lost). A space after the protocol
    // with nothing behind it is no format either (§5.14: `1*(SP fmt)`, fmt = token, never
    // empty): accepting it as a live section made a description whose re-print
    // (`m=audio 9 RTP/AVP`) this parser refuses (found by fuzz target `sdp`).
    let formats = match formats {
        Some(f) if !f.is_empty() => f,
        _ if port == 0 => "",
        _ => return Err("expected at least one format after the protocol".into()),
    };
    // RTP profiles (RFC 3550 §5.1, RFC 3551 §6): the formats are payload types, 0-127.
    // The byte scan says yes for the usual case (payload types separated by single spaces
    // are also a token list); the loop below names the bad format.
    let rtp = protocol
        .as_bytes()
        .split(|&c| c == b'/')
        .any(|p| p == b"RTP");
    let rtp_ok = rtp && crate::fields::payload_type_list(formats);
    if !rtp_ok && !formats.is_empty() && !is_token_list(formats) {
        return Err("formats must be tokens separated by single spaces".into());
    }
    if rtp && !rtp_ok {
        for f in formats.split(' ').filter(|f| !f.is_empty()) {
            match parse_u16(f) {
                Some(p) if p <= 127 => {}
                Some(_) => return Err(Problem::range(format!("payload type {f}"), "0-127")),
                None if is_digits(f) => {
                    return Err(Problem::range(format!("payload type {f}"), "0-127"))
                }
                None => return Err(format!("RTP format {f:?} is not a payload type").into()),
            }
        }
    }
    Ok(MediaLine {
        kind: MediaKind::from_name(kind),
        port,
        num_ports,
        protocol,
        formats,
    })
}

// Long on purpose: one short arm per attribute kind (the dispatch table from a kind to its
// value parser); the parsers themselves live beside their types.
pub(crate) fn parse_kind<'a>(
    kind: Kind,
    name: &'a str,
    value: Option<&'a str>,
) -> VResult<Attribute<'a>> {
    Ok(match kind {
        Kind::Candidate => Attribute::Candidate(need(value)?),
        Kind::RtcpFb => Attribute::RtcpFb(parse_rtcp_fb(need(value)?)?),
        Kind::Rtpmap => Attribute::Rtpmap(parse_rtpmap(need(value)?)?),
        Kind::Fmtp => Attribute::Fmtp(parse_fmtp(need(value)?)?),
        Kind::Ssrc => Attribute::Ssrc(parse_ssrc(need(value)?)?),
        Kind::Extmap => Attribute::Extmap(parse_extmap(need(value)?)?),
        Kind::Mid => Attribute::Mid(need(value)?),
        Kind::Msid => {
            let v = need(value)?;
            let (stream_id, track_id) = sp(v);
            non_ws(stream_id, "msid stream id")?;
            if let Some(t) = track_id {
                non_ws(t, "msid track id")?;
            }
            Attribute::Msid(Msid {
                stream_id,
                track_id,
            })
        }
        Kind::SsrcGroup => {
            let v = need(value)?;
            let (semantics, ssrcs) = sp(v);
            if !is_token(semantics) {
                return Err("ssrc-group semantics must be a token".into());
            }
            let ssrcs = ssrcs.unwrap_or("");
            if is_token_list(ssrcs) {
                for s in ssrcs.split(' ') {
                    // RFC 8866 §9 `integer` = POS-DIGIT *DIGIT: no leading zero (the typed
                    // value would print differently from the text kept).
                    if s.len() > 1 && s.starts_with('0') {
                        return Err(format!("SSRC {s:?} has a leading zero").into());
                    }
                    number_u32(s, "SSRC")?;
                }
            } else {
                return Err(format!(
                    "SSRC list {ssrcs:?} is not 32-bit numbers separated by spaces"
                )
                .into());
            }
            Attribute::SsrcGroup(SsrcGroup { semantics, ssrcs })
        }
        Kind::IceUfrag => {
            let v = need(value)?;
            non_ws(v, "ice-ufrag")?;
            Attribute::IceUfrag(v)
        }
        Kind::IcePwd => {
            let v = need(value)?;
            non_ws(v, "ice-pwd")?;
            Attribute::IcePwd(v)
        }
        Kind::IceOptions => Attribute::IceOptions(need(value)?),
        Kind::Fingerprint => Attribute::Fingerprint(parse_fingerprint(need(value)?)?),
        Kind::Setup => Attribute::Setup(match need(value)? {
            "active" => Setup::Active,
            "passive" => Setup::Passive,
            "actpass" => Setup::ActPass,
            "holdconn" => Setup::HoldConn,
            v => return Err(format!("unknown setup role {v:?}").into()),
        }),
        Kind::Group => {
            let v = need(value)?;
            let (semantics, mids) = sp(v);
            if !is_token(semantics) {
                return Err("group semantics must be a token".into());
            }
            // RFC 5888 §5: `"a=group:" semantics *(SP identification-tag)`, each tag a
            // token: a second space would keep an empty tag (`mids` " bar") that the
            // builder's re-print drops (found by fuzz target `sdp`).
            let mids = mids.unwrap_or("");
            if !mids.is_empty() && !is_token_list(mids) {
                return Err("group tags must be tokens separated by single spaces".into());
            }
            Attribute::Group(Group { semantics, mids })
        }
        Kind::MsidSemantic => {
            let v = need(value)?.trim_start_matches(' ');
            let (semantic, ids) = sp(v);
            if !is_token(semantic) {
                return Err("msid-semantic must start with a token such as WMS".into());
            }
            Attribute::MsidSemantic(MsidSemantic {
                semantic,
                ids: ids.unwrap_or(""),
            })
        }
        Kind::Rid => Attribute::Rid(parse_rid(need(value)?)?),
        Kind::Simulcast => Attribute::Simulcast(parse_simulcast(need(value)?)?),
        Kind::Rtcp => {
            let v = need(value)?;
            let (port, rest) = sp(v);
            let port = number_u16(port, "port")?;
            let address = match rest {
                None => None,
                Some(r) => Some(crate::Connection::parse(r)?),
            };
            Attribute::Rtcp(Rtcp { port, address })
        }
        Kind::TlsId => {
            let v = need(value)?;
            non_ws(v, "tls-id")?;
            Attribute::TlsId(v)
        }
        Kind::SctpPort => {
            let v = need(value)?;
            Attribute::SctpPort(number_u16(v, "port")?)
        }
        Kind::MaxMessageSize => {
            let v = need(value)?;
            Attribute::MaxMessageSize(number_u64(v, "max-message-size")?)
        }
        Kind::Ptime => Attribute::Ptime(decimal(value)?),
        Kind::MaxPtime => Attribute::MaxPtime(decimal(value)?),
        Kind::Framerate => Attribute::Framerate(decimal(value)?),
        Kind::RtcpMux => flag(value, Attribute::RtcpMux)?,
        Kind::RtcpMuxOnly => flag(value, Attribute::RtcpMuxOnly)?,
        Kind::RtcpRsize => flag(value, Attribute::RtcpRsize)?,
        Kind::IceLite => flag(value, Attribute::IceLite)?,
        Kind::EndOfCandidates => flag(value, Attribute::EndOfCandidates)?,
        Kind::ExtmapAllowMixed => flag(value, Attribute::ExtmapAllowMixed)?,
        Kind::BundleOnly => flag(value, Attribute::BundleOnly)?,
        Kind::SendRecv => flag(value, Attribute::Direction(Direction::SendRecv))?,
        Kind::SendOnly => flag(value, Attribute::Direction(Direction::SendOnly))?,
        Kind::RecvOnly => flag(value, Attribute::Direction(Direction::RecvOnly))?,
        Kind::Inactive => flag(value, Attribute::Direction(Direction::Inactive))?,
        // Known names are tokens by construction; only unknown ones need the check.
        Kind::Other if is_token(name) => Attribute::Other { name, value },
        Kind::Other => return Err("the attribute name must be a token (RFC 8866 §9)".into()),
    })
}

fn parse_rtpmap(v: &str) -> VResult<Rtpmap<'_>> {
    let (p, enc) = sp(v);
    let payload_type = pt(p)?;
    let enc = enc.ok_or("missing encoding name/clock rate")?;
    let (encoding_name, rest) =
        at(enc, b'/').ok_or("missing /clock rate after the encoding name")?;
    if !is_token(encoding_name) {
        return Err(format!("encoding name {encoding_name:?} is not a token").into());
    }
    let (clock, chans) = match at(rest, b'/') {
        Some((c, ch)) => (c, Some(ch)),
        None => (rest, None),
    };
    // RFC 8866 §6.6: a clock rate in Hz; 0 would make every RTP timestamp meaningless.
    let clock_rate = number_u32(clock, "clock rate")?;
    if clock_rate == 0 {
        return Err(Problem::range("clock rate 0", "1-4294967295"));
    }
    let channels = match chans {
        None => None,
        Some(c) => match number_u16(c, "channel count")? {
            0 => return Err(Problem::range("channel count 0", "1-65535")),
            n => Some(n),
        },
    };
    Ok(Rtpmap {
        payload_type,
        encoding_name,
        clock_rate,
        channels,
    })
}

fn parse_fmtp(v: &str) -> VResult<Fmtp<'_>> {
    let (format, params) = sp(v);
    if !is_token(format) {
        return Err(format!("format {format:?} is not a token").into());
    }
    Ok(Fmtp {
        format,
        params: params.unwrap_or(""),
    })
}

fn parse_rtcp_fb(v: &str) -> VResult<RtcpFb<'_>> {
    let (p, rest) = sp(v);
    let payload_type = if p == "*" { None } else { Some(pt(p)?) };
    let rest = rest.ok_or("missing feedback type")?;
    let (feedback, param) = sp(rest);
    if !is_token(feedback) {
        return Err(format!("feedback type {feedback:?} is not a token").into());
    }
    Ok(RtcpFb {
        payload_type,
        feedback,
        param,
    })
}

fn parse_ssrc(v: &str) -> VResult<Ssrc<'_>> {
    let (s, rest) = sp(v);
    let ssrc = number_u32(s, "SSRC")?;
    let rest = rest.ok_or("missing source attribute")?;
    let (attribute, value) = split_attribute(rest);
    if !is_token(attribute) {
        return Err(format!("source attribute {attribute:?} is not a token").into());
    }
    Ok(Ssrc {
        ssrc,
        attribute,
        value,
    })
}

fn parse_extmap(v: &str) -> VResult<Extmap<'_>> {
    let (idd, rest) = sp(v);
    let (id, direction) = match at(idd, b'/') {
        Some((i, d)) => (
            i,
            Some(Direction::from_name(d).ok_or_else(|| format!("unknown direction {d:?}"))?),
        ),
        None => (idd, None),
    };
    // RFC 8285 §5, §6: the valid range is 1-256 (1-14 one-byte, 1-255 two-byte, 256 the
    // appbits); 4096-4351 may be offered for the answerer to pick from (§7).
    let id = number_u16(id, "id")?;
    if !(1..=256).contains(&id) && !(4096..=4351).contains(&id) {
        return Err(Problem::range(
            format!("id {id}"),
            "1-256, or 4096-4351 in an offer",
        ));
    }
    let rest = rest.ok_or("missing extension URI")?;
    // URIs are long: a SIMD search for the optional space beats a byte loop.
    let (uri, attributes) = match memchr::memchr(b' ', rest.as_bytes()) {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i + 1..)),
        None => (rest, None),
    };
    non_ws(uri, "extension URI")?;
    Ok(Extmap {
        id,
        direction,
        uri,
        attributes,
    })
}

fn parse_rid(v: &str) -> VResult<Rid<'_>> {
    let (id, rest) = sp(v);
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("rid id {id:?} must be letters, digits, '-' or '_'").into());
    }
    let rest = rest.ok_or("missing send/recv")?;
    let (dir, params) = sp(rest);
    let direction = match dir {
        "send" => RidDirection::Send,
        "recv" => RidDirection::Recv,
        d => return Err(format!("direction {d:?} is not send or recv").into()),
    };
    if let Some(p) = params {
        non_ws(p, "rid parameters")?;
    }
    Ok(Rid {
        id,
        direction,
        params,
    })
}

fn parse_simulcast(v: &str) -> VResult<Simulcast<'_>> {
    let mut out = Simulcast {
        send: None,
        recv: None,
    };
    let mut words = v.split(' ');
    let mut n = 0;
    while let Some(dir) = words.next() {
        n += 1;
        if n > 2 {
            return Err("more than two direction lists".into());
        }
        let list = words.next().ok_or("direction without a stream list")?;
        let valid = list.split(';').all(|alts| {
            alts.split(',').all(|rid| {
                let r = rid.strip_prefix('~').unwrap_or(rid);
                !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
        });
        if !valid {
            return Err(format!("stream list {list:?} is malformed").into());
        }
        let slot = match dir {
            "send" => &mut out.send,
            "recv" => &mut out.recv,
            d => return Err(format!("direction {d:?} is not send or recv").into()),
        };
        if slot.is_some() {
            return Err("direction given twice".into());
        }
        *slot = Some(SimulcastList(list));
    }
    Ok(out)
}

fn parse_fingerprint(v: &str) -> VResult<Fingerprint<'_>> {
    let (algorithm, value) = sp(v);
    if !is_token(algorithm) {
        return Err(format!("hash function {algorithm:?} is not a token").into());
    }
    let value = value.ok_or("missing fingerprint value")?;
    let b = value.as_bytes();
    let ok = b.len() % 3 == 2
        && b.chunks(3).all(|c| match c {
            [h, l, b':'] | [h, l] => h.is_ascii_hexdigit() && l.is_ascii_hexdigit(),
            _ => false,
        });
    if !ok {
        return Err("fingerprint must be colon-separated pairs of hex digits".into());
    }
    Ok(Fingerprint { algorithm, value })
}
