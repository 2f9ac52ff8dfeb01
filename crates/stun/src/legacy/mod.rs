//! The hand-written parser that the nom grammar replaced, kept only for the differential
//! tests and fuzz target of issue 14 (feature `legacy-parser`, not part of the API). It is
//! the code of `Message::parse_with`, `Attributes` and `Attribute::decode` as they were
//! before the move to nom, so that both can run on the same inputs.
#![allow(
    missing_docs,
    clippy::missing_errors_doc,
    clippy::panic,
    clippy::unwrap_used
)]

use crate::attributes::{
    attr, AddressFamily, Attribute, ErrorCode, PasswordAlgorithm, PasswordAlgorithms, Text,
    UnknownAttributes, MAX_TEXT_LEN, MAX_USERNAME_LEN,
};
use crate::error::Error;
use crate::header::{MessageType, TransactionId, HEADER_LEN, MAGIC_COOKIE};
use crate::integrity::IntegrityKey;
use crate::message::{Message, ParseLimits, RawAttribute, FINGERPRINT_XOR, MAX_REPORTED_UNKNOWN};
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

fn padded(n: usize) -> usize {
    (n + 3) & !3
}

fn be16(d: &[u8], at: usize) -> u16 {
    match d.get(at..at + 2) {
        Some([a, b]) => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

/// The old `Message::parse_with`.
pub fn parse_with(buf: Bytes, limits: &ParseLimits) -> Result<Message, Error> {
    let d = &buf[..];
    let hdr: &[u8; HEADER_LEN] =
        d.get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(Error::Truncated {
                what: "header",
                needed: HEADER_LEN,
                have: d.len(),
            })?;
    if hdr[0] & 0xC0 != 0 {
        return Err(Error::NotStun(hdr[0]));
    }
    let cookie = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    if cookie != MAGIC_COOKIE {
        return Err(Error::BadMagicCookie(cookie));
    }
    let len = u16::from_be_bytes([hdr[2], hdr[3]]);
    if !len.is_multiple_of(4) {
        return Err(Error::UnalignedLength(len));
    }
    if HEADER_LEN + usize::from(len) != d.len() {
        return Err(Error::LengthMismatch {
            declared: usize::from(len),
            actual: d.len() - HEADER_LEN,
        });
    }
    let mtype = MessageType::from_u16(u16::from_be_bytes([hdr[0], hdr[1]]));
    let mut tid = [0u8; 12];
    tid.copy_from_slice(&hdr[8..20]);

    let mut msg = Message {
        buf: Bytes::new(),
        mtype,
        tid: TransactionId(tid),
        mi: None,
        mi256: None,
        fingerprint: None,
        unknown: [0; MAX_REPORTED_UNKNOWN],
        unknown_len: 0,
    };
    let mut off = HEADER_LEN;
    let mut count = 0usize;
    while off < d.len() {
        let (t, l) = match d.get(off..off + 4) {
            Some([a, b, c, e]) => (
                u16::from_be_bytes([*a, *b]),
                usize::from(u16::from_be_bytes([*c, *e])),
            ),
            _ => {
                return Err(Error::Truncated {
                    what: "attribute header",
                    needed: off + 4,
                    have: d.len(),
                })
            }
        };
        let next = off + 4 + padded(l);
        if next > d.len() {
            return Err(Error::AttributeOverflow {
                attr_type: t,
                offset: off,
                length: l,
            });
        }
        if let Some(fp) = msg.fingerprint {
            return Err(Error::FingerprintNotLast(fp));
        }
        count += 1;
        if count > limits.max_attributes {
            return Err(Error::TooManyAttributes(limits.max_attributes));
        }
        let covered = msg.mi.is_none() && msg.mi256.is_none();
        let bad = |reason| Error::InvalidAttribute {
            attr_type: t,
            offset: off,
            reason,
        };
        match t {
            attr::MESSAGE_INTEGRITY => {
                if l != 20 {
                    return Err(bad("MESSAGE-INTEGRITY must be 20 bytes"));
                }
                if covered {
                    msg.mi = Some(off);
                }
            }
            attr::MESSAGE_INTEGRITY_SHA256 => {
                if !(16..=32).contains(&l) || !l.is_multiple_of(4) {
                    return Err(bad(
                        "MESSAGE-INTEGRITY-SHA256 must be 16..32 bytes, multiple of 4",
                    ));
                }
                if msg.mi256.is_none() {
                    msg.mi256 = Some(off);
                }
            }
            attr::FINGERPRINT => {
                if l != 4 {
                    return Err(bad("FINGERPRINT must be 4 bytes"));
                }
                msg.fingerprint = Some(off);
            }
            _ => {
                if covered && attr::is_comprehension_required(t) && !attr::is_known(t) {
                    if let Some(slot) = msg.unknown.get_mut(msg.unknown_len) {
                        *slot = t;
                        msg.unknown_len += 1;
                    }
                }
            }
        }
        off = next;
    }
    if let Some(fp) = msg.fingerprint {
        let carried = match d.get(fp + 4..fp + 8) {
            Some([a, b, c, e]) => u32::from_be_bytes([*a, *b, *c, *e]),
            _ => return Err(Error::FingerprintNotLast(fp)),
        };
        let computed = crc32fast::hash(d.get(..fp).unwrap_or_default()) ^ FINGERPRINT_XOR;
        if carried != computed {
            return Err(Error::FingerprintMismatch { carried, computed });
        }
    }
    msg.buf = buf;
    Ok(msg)
}

/// The old `Attributes` view (unverified: the integrity check is not a parser).
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    msg: &'a Message,
    end: usize,
}

/// The old view of the attributes of `msg` that precede its integrity attributes.
pub fn attributes(msg: &Message) -> Attributes<'_> {
    Attributes {
        msg,
        end: msg.covered_end(),
    }
}

impl<'a> Attributes<'a> {
    pub fn raw(&self) -> impl Iterator<Item = RawAttribute<'a>> + 'a {
        let d: &'a [u8] = self.msg.buf.get(..self.end).unwrap_or_default();
        let mut off = HEADER_LEN;
        std::iter::from_fn(move || {
            let t = be16(d, off);
            let l = usize::from(be16(d, off + 2));
            let value = d.get(off + 4..off + 4 + l)?;
            let a = RawAttribute {
                attr_type: t,
                offset: off,
                value,
            };
            off += 4 + padded(l);
            Some(a)
        })
    }

    pub fn find(&self, t: u16) -> Option<RawAttribute<'a>> {
        self.raw().find(|a| a.attr_type == t)
    }

    pub fn iter(&self) -> impl Iterator<Item = Result<Attribute, Error>> + 'a {
        let msg = self.msg;
        self.raw().map(move |a| {
            let start = a.offset + 4;
            decode(
                a.attr_type,
                msg.buf.slice(start..start + a.value.len()),
                &msg.tid,
                a.offset,
            )
        })
    }

    pub fn get(&self, t: u16) -> Option<Result<Attribute, Error>> {
        let a = self.find(t)?;
        let start = a.offset + 4;
        Some(decode(
            t,
            self.msg.buf.slice(start..start + a.value.len()),
            &self.msg.tid,
            a.offset,
        ))
    }

    fn text(&self, t: u16, max: usize) -> Result<Option<&'a str>, Error> {
        let Some(a) = self.find(t) else {
            return Ok(None);
        };
        let bad = |reason| Error::InvalidAttribute {
            attr_type: t,
            offset: a.offset,
            reason,
        };
        if a.value.len() > max {
            return Err(bad("value longer than RFC 8489 allows"));
        }
        std::str::from_utf8(a.value)
            .map(Some)
            .map_err(|_| bad("text is not valid UTF-8"))
    }

    pub fn fixed<const N: usize>(&self, t: u16) -> Result<Option<[u8; N]>, Error> {
        let Some(a) = self.find(t) else {
            return Ok(None);
        };
        <[u8; N]>::try_from(a.value)
            .map(Some)
            .map_err(|_| Error::InvalidAttribute {
                attr_type: t,
                offset: a.offset,
                reason: "wrong value length",
            })
    }

    fn address(&self, t: u16, xor: bool) -> Result<Option<SocketAddr>, Error> {
        let Some(a) = self.find(t) else {
            return Ok(None);
        };
        decode_address(a.value, xor.then_some(&self.msg.tid), t, a.offset).map(Some)
    }

    pub fn username(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::USERNAME, MAX_USERNAME_LEN)
    }
    pub fn realm(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::REALM, MAX_TEXT_LEN)
    }
    pub fn nonce(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::NONCE, MAX_TEXT_LEN)
    }
    pub fn software(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::SOFTWARE, MAX_TEXT_LEN)
    }
    pub fn priority(&self) -> Result<Option<u32>, Error> {
        Ok(self.fixed::<4>(attr::PRIORITY)?.map(u32::from_be_bytes))
    }
    pub fn lifetime(&self) -> Result<Option<u32>, Error> {
        Ok(self.fixed::<4>(attr::LIFETIME)?.map(u32::from_be_bytes))
    }
    pub fn ice_controlling(&self) -> Result<Option<u64>, Error> {
        Ok(self
            .fixed::<8>(attr::ICE_CONTROLLING)?
            .map(u64::from_be_bytes))
    }
    pub fn ice_controlled(&self) -> Result<Option<u64>, Error> {
        Ok(self
            .fixed::<8>(attr::ICE_CONTROLLED)?
            .map(u64::from_be_bytes))
    }
    pub fn use_candidate(&self) -> bool {
        self.find(attr::USE_CANDIDATE).is_some()
    }
    pub fn channel_number(&self) -> Result<Option<u16>, Error> {
        Ok(self
            .fixed::<4>(attr::CHANNEL_NUMBER)?
            .map(|b| u16::from_be_bytes([b[0], b[1]])))
    }
    pub fn xor_mapped_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::XOR_MAPPED_ADDRESS, true)
    }
    pub fn mapped_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::MAPPED_ADDRESS, false)
    }
    pub fn xor_relayed_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::XOR_RELAYED_ADDRESS, true)
    }
    pub fn xor_peer_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::XOR_PEER_ADDRESS, true)
    }
    pub fn alternate_server(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::ALTERNATE_SERVER, false)
    }
    pub fn data(&self) -> Option<Bytes> {
        let a = self.find(attr::DATA)?;
        let start = a.offset + 4;
        Some(self.msg.buf.slice(start..start + a.value.len()))
    }
    pub fn error_code(&self) -> Result<Option<(u16, &'a str)>, Error> {
        let Some(a) = self.find(attr::ERROR_CODE) else {
            return Ok(None);
        };
        let bad = |reason| Error::InvalidAttribute {
            attr_type: attr::ERROR_CODE,
            offset: a.offset,
            reason,
        };
        let (class, number, rest) = match a.value {
            [_, _, c, n, rest @ ..] => (u16::from(c & 7), u16::from(*n), rest),
            _ => return Err(bad("error code shorter than 4 bytes")),
        };
        if !(3..=6).contains(&class) || number > 99 {
            return Err(bad("error code outside 300..699"));
        }
        let reason = std::str::from_utf8(rest).map_err(|_| bad("text is not valid UTF-8"))?;
        Ok(Some((class * 100 + number, reason)))
    }
}

fn fixed<const N: usize>(v: &[u8], attr_type: u16, offset: usize) -> Result<[u8; N], Error> {
    <[u8; N]>::try_from(v).map_err(|_| Error::InvalidAttribute {
        attr_type,
        offset,
        reason: "wrong value length",
    })
}

fn text(b: Bytes, attr_type: u16, offset: usize) -> Result<Text, Error> {
    if std::str::from_utf8(&b).is_err() {
        return Err(Error::InvalidAttribute {
            attr_type,
            offset,
            reason: "text is not valid UTF-8",
        });
    }
    Ok(Text(b))
}

fn family(v: u8, attr_type: u16, offset: usize) -> Result<AddressFamily, Error> {
    match v {
        1 => Ok(AddressFamily::V4),
        2 => Ok(AddressFamily::V6),
        _ => Err(Error::InvalidAttribute {
            attr_type,
            offset,
            reason: "unknown address family",
        }),
    }
}

fn decode_address(
    v: &[u8],
    xor: Option<&TransactionId>,
    attr_type: u16,
    offset: usize,
) -> Result<SocketAddr, Error> {
    let bad = |reason| Error::InvalidAttribute {
        attr_type,
        offset,
        reason,
    };
    let (family, port, addr) = match v {
        [_, f, p0, p1, rest @ ..] => (*f, u16::from_be_bytes([*p0, *p1]), rest),
        _ => return Err(bad("address value shorter than 4 bytes")),
    };
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = if xor.is_some() {
        port ^ (MAGIC_COOKIE >> 16) as u16
    } else {
        port
    };
    let ip = match family {
        1 => {
            let mut a: [u8; 4] = fixed(addr, attr_type, offset)?;
            if xor.is_some() {
                for (b, c) in a.iter_mut().zip(cookie) {
                    *b ^= c;
                }
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        2 => {
            let mut a: [u8; 16] = fixed(addr, attr_type, offset)?;
            if let Some(tid) = xor {
                let mask = cookie.iter().chain(tid.0.iter());
                for (b, c) in a.iter_mut().zip(mask) {
                    *b ^= c;
                }
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        _ => return Err(bad("unknown address family")),
    };
    Ok(SocketAddr::new(ip, port))
}

fn check_len(len: usize, max: usize, attr_type: u16, offset: usize) -> Result<(), Error> {
    if len > max {
        return Err(Error::InvalidAttribute {
            attr_type,
            offset,
            reason: "value longer than RFC 8489 allows",
        });
    }
    Ok(())
}

fn decode_error_code(v: &Bytes, attr_type: u16, offset: usize) -> Result<(u16, Text), Error> {
    let bad = |reason| Error::InvalidAttribute {
        attr_type,
        offset,
        reason,
    };
    let (class, number) = match v.get(..4) {
        Some([_, _, c, n]) => (u16::from(c & 0x07), u16::from(*n)),
        _ => return Err(bad("error code shorter than 4 bytes")),
    };
    if !(3..=6).contains(&class) || number > 99 {
        return Err(bad("error code outside 300..699"));
    }
    check_len(v.len() - 4, MAX_TEXT_LEN, attr_type, offset)?;
    let reason = text(v.slice(4..), attr_type, offset)?;
    Ok((class * 100 + number, reason))
}

fn password_algorithm(
    v: &Bytes,
    attr_type: u16,
    offset: usize,
) -> Result<(PasswordAlgorithm, usize), Error> {
    let bad = |reason| Error::InvalidAttribute {
        attr_type,
        offset,
        reason,
    };
    let (alg, plen) = match v.get(..4) {
        Some([a, b, c, d]) => (
            u16::from_be_bytes([*a, *b]),
            usize::from(u16::from_be_bytes([*c, *d])),
        ),
        _ => return Err(bad("password algorithm entry truncated")),
    };
    let end = 4 + plen;
    if end > v.len() {
        return Err(bad("password algorithm parameters run past the value"));
    }
    let consumed = (4 + padded(plen)).min(v.len());
    Ok((
        PasswordAlgorithm {
            algorithm: alg,
            params: v.slice(4..end),
        },
        consumed,
    ))
}

/// The old `Attribute::decode`.
pub fn decode(
    attr_type: u16,
    value: Bytes,
    tid: &TransactionId,
    offset: usize,
) -> Result<Attribute, Error> {
    use attr::*;
    let t = attr_type;
    let v = &value[..];
    let bad = |reason| Error::InvalidAttribute {
        attr_type: t,
        offset,
        reason,
    };
    Ok(match t {
        MAPPED_ADDRESS => Attribute::MappedAddress(decode_address(v, None, t, offset)?),
        XOR_MAPPED_ADDRESS => Attribute::XorMappedAddress(decode_address(v, Some(tid), t, offset)?),
        ALTERNATE_SERVER => Attribute::AlternateServer(decode_address(v, None, t, offset)?),
        XOR_PEER_ADDRESS => Attribute::XorPeerAddress(decode_address(v, Some(tid), t, offset)?),
        XOR_RELAYED_ADDRESS => {
            Attribute::XorRelayedAddress(decode_address(v, Some(tid), t, offset)?)
        }
        USERNAME => {
            check_len(v.len(), MAX_USERNAME_LEN, t, offset)?;
            Attribute::Username(text(value, t, offset)?)
        }
        REALM | NONCE | SOFTWARE | ALTERNATE_DOMAIN => {
            check_len(v.len(), MAX_TEXT_LEN, t, offset)?;
            let text = text(value, t, offset)?;
            match t {
                REALM => Attribute::Realm(text),
                NONCE => Attribute::Nonce(text),
                SOFTWARE => Attribute::Software(text),
                _ => Attribute::AlternateDomain(text),
            }
        }
        USERHASH => Attribute::UserHash(fixed(v, t, offset)?),
        MESSAGE_INTEGRITY => Attribute::MessageIntegrity(fixed(v, t, offset)?),
        MESSAGE_INTEGRITY_SHA256 => {
            if v.len() < 16 || v.len() > 32 || !v.len().is_multiple_of(4) {
                return Err(bad(
                    "MESSAGE-INTEGRITY-SHA256 must be 16..32 bytes, multiple of 4",
                ));
            }
            Attribute::MessageIntegritySha256(value)
        }
        FINGERPRINT => Attribute::Fingerprint(u32::from_be_bytes(fixed(v, t, offset)?)),
        ERROR_CODE => {
            let (code, reason) = decode_error_code(&value, t, offset)?;
            Attribute::ErrorCode(ErrorCode { code, reason })
        }
        PASSWORD_ALGORITHMS => {
            let mut rest = value.clone();
            while !rest.is_empty() {
                let (_, n) = password_algorithm(&rest, attr::PASSWORD_ALGORITHMS, offset)?;
                rest = rest.slice(n..);
            }
            Attribute::PasswordAlgorithms(PasswordAlgorithms(value))
        }
        PASSWORD_ALGORITHM => {
            let (a, n) = password_algorithm(&value, t, offset)?;
            if n != v.len() {
                return Err(bad("trailing bytes after PASSWORD-ALGORITHM"));
            }
            Attribute::PasswordAlgorithm(a)
        }
        UNKNOWN_ATTRIBUTES => {
            if !v.len().is_multiple_of(2) {
                return Err(bad("odd length"));
            }
            Attribute::UnknownAttributes(UnknownAttributes(value))
        }
        PRIORITY => Attribute::Priority(u32::from_be_bytes(fixed(v, t, offset)?)),
        USE_CANDIDATE | DONT_FRAGMENT => {
            if !v.is_empty() {
                return Err(bad("flag attribute must be empty"));
            }
            if t == USE_CANDIDATE {
                Attribute::UseCandidate
            } else {
                Attribute::DontFragment
            }
        }
        ICE_CONTROLLED => Attribute::IceControlled(u64::from_be_bytes(fixed(v, t, offset)?)),
        ICE_CONTROLLING => Attribute::IceControlling(u64::from_be_bytes(fixed(v, t, offset)?)),
        CHANNEL_NUMBER => {
            let b: [u8; 4] = fixed(v, t, offset)?;
            Attribute::ChannelNumber(u16::from_be_bytes([b[0], b[1]]))
        }
        LIFETIME => Attribute::Lifetime(u32::from_be_bytes(fixed(v, t, offset)?)),
        DATA => Attribute::Data(value),
        REQUESTED_ADDRESS_FAMILY | ADDITIONAL_ADDRESS_FAMILY => {
            let b: [u8; 4] = fixed(v, t, offset)?;
            let f = family(b[0], t, offset)?;
            if t == REQUESTED_ADDRESS_FAMILY {
                Attribute::RequestedAddressFamily(f)
            } else {
                Attribute::AdditionalAddressFamily(f)
            }
        }
        ADDRESS_ERROR_CODE => {
            let fam = match v.first() {
                Some(f) => family(*f, t, offset)?,
                None => return Err(bad("empty ADDRESS-ERROR-CODE")),
            };
            let (code, reason) = decode_error_code(&value, t, offset)?;
            Attribute::AddressErrorCode {
                family: fam,
                code,
                reason,
            }
        }
        EVEN_PORT => {
            let [b]: [u8; 1] = fixed(v, t, offset)?;
            Attribute::EvenPort(b & 0x80 != 0)
        }
        REQUESTED_TRANSPORT => {
            let b: [u8; 4] = fixed(v, t, offset)?;
            Attribute::RequestedTransport(b[0])
        }
        RESERVATION_TOKEN => Attribute::ReservationToken(fixed(v, t, offset)?),
        ICMP => {
            let b: [u8; 8] = fixed(v, t, offset)?;
            Attribute::Icmp {
                icmp_type: b[2],
                icmp_code: b[3],
                error_data: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            }
        }
        _ => Attribute::Unknown {
            attr_type: t,
            value,
        },
    })
}

/// The old `Message::verify_integrity` (the result only).
pub fn verify_integrity(msg: &Message, key: &IntegrityKey) -> Result<(), Error> {
    use hmac::Mac;
    let d = &msg.buf[..];
    if let Some(off) = msg.mi256 {
        let l = usize::from(be16(d, off + 2));
        let tag = d.get(off + 4..off + 4 + l).ok_or(Error::IntegrityMissing)?;
        let mut mac = key.sha256.clone();
        let len = ((off + 4 + l - HEADER_LEN) as u16).to_be_bytes();
        mac.update(d.get(..2).unwrap_or_default());
        mac.update(&len);
        mac.update(d.get(4..off).unwrap_or_default());
        mac.verify_truncated_left(tag)
            .map_err(|_| Error::IntegrityMismatch("MESSAGE-INTEGRITY-SHA256"))?;
    } else if let Some(off) = msg.mi {
        let tag = d.get(off + 4..off + 24).ok_or(Error::IntegrityMissing)?;
        let len = ((off + 24 - HEADER_LEN) as u16).to_be_bytes();
        let computed = key.sha1.tag(&[
            d.get(..2).unwrap_or_default(),
            &len,
            d.get(4..off).unwrap_or_default(),
        ]);
        if tag != &computed[..] {
            return Err(Error::IntegrityMismatch("MESSAGE-INTEGRITY"));
        }
    } else {
        return Err(Error::IntegrityMissing);
    }
    Ok(())
}

/// The old `is_stun`.
pub fn is_stun(data: &[u8]) -> bool {
    data.len() >= HEADER_LEN
        && data.first().is_some_and(|b| b & 0xC0 == 0)
        && data.get(4..8) == Some(&MAGIC_COOKIE.to_be_bytes()[..])
        && be16(data, 2).is_multiple_of(4)
}

/// The old `stun_frame_len`.
pub fn stun_frame_len(data: &[u8]) -> Option<usize> {
    if data.len() < 4 {
        return None;
    }
    Some(HEADER_LEN + usize::from(be16(data, 2)))
}

/// Run the old and the new parser on `data` and panic on any difference: the parse result
/// (the `Message` or the error), every accessor and every decoded attribute. For the
/// differential tests and fuzz target.
/// `keys` are tried with `verify_integrity`.
pub fn check(data: &[u8], keys: &[IntegrityKey]) {
    assert_eq!(crate::is_stun(data), is_stun(data), "is_stun");
    assert_eq!(
        crate::stun_frame_len(data),
        stun_frame_len(data),
        "stun_frame_len"
    );
    let buf = Bytes::copy_from_slice(data);
    for max_attributes in [64, 3] {
        let limits = ParseLimits { max_attributes };
        let new = Message::parse_with(buf.clone(), &limits);
        let old = parse_with(buf.clone(), &limits);
        assert_eq!(new, old, "parse_with, limit {max_attributes}");
        let Ok(m) = new else { continue };
        for key in keys {
            assert_eq!(
                m.verify_integrity(key).map(|_| ()),
                verify_integrity(&m, key),
                "verify_integrity"
            );
        }
        let (a, o) = (m.attributes_unverified(), attributes(&m));
        assert_eq!(a.raw().collect::<Vec<_>>(), o.raw().collect::<Vec<_>>());
        assert_eq!(a.iter().collect::<Vec<_>>(), o.iter().collect::<Vec<_>>());
        for t in (0..0x30).chain(0x8000..0x8030) {
            assert_eq!(a.get(t), o.get(t), "get({t:#06x})");
        }
        assert_eq!(m.username(), o.username());
        assert_eq!(m.userhash(), o.fixed::<32>(attr::USERHASH));
        assert_eq!(m.realm(), o.realm());
        assert_eq!(m.nonce(), o.nonce());
        assert_eq!(a.software(), o.software());
        assert_eq!(a.priority(), o.priority());
        assert_eq!(a.lifetime(), o.lifetime());
        assert_eq!(a.ice_controlling(), o.ice_controlling());
        assert_eq!(a.ice_controlled(), o.ice_controlled());
        assert_eq!(a.use_candidate(), o.use_candidate());
        assert_eq!(a.channel_number(), o.channel_number());
        assert_eq!(a.xor_mapped_address(), o.xor_mapped_address());
        assert_eq!(a.mapped_address(), o.mapped_address());
        assert_eq!(a.xor_relayed_address(), o.xor_relayed_address());
        assert_eq!(a.xor_peer_address(), o.xor_peer_address());
        assert_eq!(a.alternate_server(), o.alternate_server());
        assert_eq!(a.data(), o.data());
        assert_eq!(a.error_code(), o.error_code());
        // The decoded lists iterate the same.
        for x in a.iter().flatten() {
            match x {
                Attribute::PasswordAlgorithms(p) => {
                    let n: Vec<_> = p.iter().collect();
                    let mut rest = p.0.clone();
                    let mut old = Vec::new();
                    while !rest.is_empty() {
                        let Ok((e, used)) = password_algorithm(&rest, attr::PASSWORD_ALGORITHMS, 0)
                        else {
                            break;
                        };
                        old.push(e);
                        rest = rest.slice(used..);
                    }
                    assert_eq!(n, old, "PASSWORD-ALGORITHMS entries");
                }
                Attribute::UnknownAttributes(u) => {
                    let old: Vec<u16> =
                        u.0.chunks_exact(2)
                            .map(|c| match c {
                                [a, b] => u16::from_be_bytes([*a, *b]),
                                _ => 0,
                            })
                            .collect();
                    assert_eq!(u.iter().collect::<Vec<_>>(), old, "UNKNOWN-ATTRIBUTES");
                }
                _ => {}
            }
        }
    }
}
