//! The STUN (RFC 8489) view ICE needs, on top of `ferrtc-stun`: Binding requests, responses
//! and errors with USERNAME, PRIORITY, USE-CANDIDATE, ICE-CONTROLLING/CONTROLLED,
//! XOR-MAPPED-ADDRESS, ERROR-CODE, MESSAGE-INTEGRITY (short-term credentials) and FINGERPRINT.
//!
//! [`Message::parse`] checks structure and FINGERPRINT (in `ferrtc-stun`) and extracts the ICE
//! attributes; the agent acts on a request or a check response only after
//! [`Message::verify_integrity`] succeeded with the right password.

use std::net::SocketAddr;

use bytes::Bytes;
use ferrtc_stun::{
    Attribute, ErrorCode, MessageBuilder, MessageType, Method, Text, UnknownAttributes,
};

/// A prepared MESSAGE-INTEGRITY key: the HMAC state keyed once, copied per message.
pub use ferrtc_stun::IntegrityKey;

use crate::Error;

/// STUN magic cookie (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = ferrtc_stun::MAGIC_COOKIE;
/// Binding method.
pub const BINDING: u16 = 0x0001;
/// Most attributes looked at in one message; more make the message invalid.
pub const MAX_ATTRIBUTES: usize = 32;

/// Message class (RFC 8489 §5): the STUN crate's, so there is one way to name it.
pub use ferrtc_stun::Class;

/// 96-bit transaction id.
pub type TransactionId = [u8; 12];

/// A parsed STUN message, with the ICE attributes extracted (not yet authenticated: see
/// [`Message::verify_integrity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Class.
    pub class: Class,
    /// Method (ICE uses only Binding).
    pub method: u16,
    /// Transaction id.
    pub transaction_id: TransactionId,
    /// USERNAME.
    pub username: Option<Bytes>,
    /// PRIORITY.
    pub priority: Option<u32>,
    /// USE-CANDIDATE present.
    pub use_candidate: bool,
    /// ICE-CONTROLLING tie-breaker.
    pub ice_controlling: Option<u64>,
    /// ICE-CONTROLLED tie-breaker.
    pub ice_controlled: Option<u64>,
    /// XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS from an RFC 3489 server).
    pub mapped_address: Option<SocketAddr>,
    /// ERROR-CODE number (e.g. 487).
    pub error_code: Option<u16>,
    /// Whether MESSAGE-INTEGRITY (or -SHA256) is present.
    pub has_integrity: bool,
    raw: ferrtc_stun::Message,
}

/// Whether `buf` looks like a STUN message (RFC 7983 demultiplexing: top bits and the magic
/// cookie).
pub fn is_stun(buf: &[u8]) -> bool {
    ferrtc_stun::is_stun(buf)
}

/// The MESSAGE-INTEGRITY key of an ICE password (a short-term credential, RFC 8489 §9.1.1:
/// ICE passwords are ice-chars, RFC 8445 §5.3, which OpaqueString leaves as they are). The
/// HMAC-SHA1 state is keyed here once; prepare it once per password and keep it (issue 17).
/// `None` only if the crypto library refuses the key.
pub fn integrity_key(password: &[u8]) -> Option<IntegrityKey> {
    IntegrityKey::from_raw(password).ok()
}

/// `part` as a zero-copy slice of `buf` when it lies inside it (the STUN parser hands out views
/// of the datagram), a copy otherwise. Never panics, unlike `Bytes::slice_ref`.
fn share(buf: &Bytes, part: &[u8]) -> Bytes {
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    match start.checked_add(part.len()) {
        Some(end) if end <= buf.len() => buf.slice(start..end),
        _ => Bytes::copy_from_slice(part),
    }
}

fn stun_err(e: ferrtc_stun::Error) -> Error {
    Error::Stun(e.to_string())
}

impl Message {
    /// Parses one STUN message; checks FINGERPRINT when present.
    pub fn parse(buf: Bytes) -> Result<Message, Error> {
        let limits = ferrtc_stun::ParseLimits {
            max_attributes: MAX_ATTRIBUTES,
        };
        let raw = ferrtc_stun::Message::parse_with(buf, &limits).map_err(stun_err)?;
        let mut username = None;
        let mut priority = None;
        let mut use_candidate = false;
        let mut ice_controlling = None;
        let mut ice_controlled = None;
        let mut mapped_address = None;
        let mut error_code = None;
        // Extracted now, trusted only after verify_integrity (the agent's rule).
        for a in raw.attributes_unverified().iter() {
            match a.map_err(stun_err)? {
                Attribute::Username(u) => username = Some(share(raw.as_bytes(), u.as_bytes())),
                Attribute::Priority(p) => priority = Some(p),
                Attribute::UseCandidate => use_candidate = true,
                Attribute::IceControlling(t) => ice_controlling = Some(t),
                Attribute::IceControlled(t) => ice_controlled = Some(t),
                Attribute::XorMappedAddress(a) => mapped_address = Some(a),
                Attribute::MappedAddress(a) if mapped_address.is_none() => {
                    mapped_address = Some(a);
                }
                Attribute::ErrorCode(e) => error_code = Some(e.code),
                _ => {}
            }
        }
        Ok(Message {
            class: raw.class(),
            method: raw.method().value(),
            transaction_id: *raw.transaction_id().as_bytes(),
            username,
            priority,
            use_candidate,
            ice_controlling,
            ice_controlled,
            mapped_address,
            error_code,
            has_integrity: raw.integrity().is_some(),
            raw,
        })
    }

    /// Checks MESSAGE-INTEGRITY with the short-term credential `key` (the ICE password). This
    /// keys the HMAC for this one message: with a password that is used more than once, prepare
    /// its key with [`integrity_key`] and call [`Message::verify_with`].
    pub fn verify_integrity(&self, key: &[u8]) -> Result<(), Error> {
        let key = IntegrityKey::from_raw(key).map_err(|_| Error::Integrity("bad key"))?;
        self.verify_with(&key)
    }

    /// Comprehension-required attributes (type < 0x8000) the STUN parser does not understand:
    /// a request with any is answered 420 (RFC 8489 §6.3.1).
    pub fn unknown_comprehension_required(&self) -> &[u16] {
        self.raw.unknown_comprehension_required()
    }

    /// Checks MESSAGE-INTEGRITY with a prepared key (see [`integrity_key`]).
    pub fn verify_with(&self, key: &IntegrityKey) -> Result<(), Error> {
        self.raw
            .verify_integrity(key)
            .map(|_| ())
            .map_err(|e| match e {
                ferrtc_stun::Error::IntegrityMissing => Error::Integrity("no MESSAGE-INTEGRITY"),
                _ => Error::Integrity("MESSAGE-INTEGRITY mismatch"),
            })
    }
}

/// Builds a STUN message attribute by attribute; finishes with MESSAGE-INTEGRITY (if a key is
/// given) and FINGERPRINT.
#[derive(Debug)]
pub struct Builder {
    b: MessageBuilder,
}

impl Builder {
    /// Starts a message.
    pub fn new(class: Class, method: u16, tid: &TransactionId) -> Builder {
        let t = MessageType::new(Method::new(method), class);
        Builder {
            b: MessageBuilder::new(t, ferrtc_stun::TransactionId(*tid)),
        }
    }

    fn add(&mut self, a: Attribute) -> &mut Self {
        // Only values the agent controls are added; a rejected one (too long) is left out
        // and the peer answers 400, which is visible in the pair's state.
        if let Err(e) = self.b.add(&a) {
            tracing::warn!(error = %e, "ice: STUN attribute not encodable");
        }
        self
    }

    /// USERNAME.
    pub fn username(&mut self, u: &str) -> &mut Self {
        self.add(Attribute::Username(Text::new(u)))
    }
    /// PRIORITY.
    pub fn priority(&mut self, p: u32) -> &mut Self {
        self.add(Attribute::Priority(p))
    }
    /// USE-CANDIDATE.
    pub fn use_candidate(&mut self) -> &mut Self {
        self.add(Attribute::UseCandidate)
    }
    /// ICE-CONTROLLING or ICE-CONTROLLED with the tie-breaker.
    pub fn role(&mut self, controlling: bool, tie_breaker: u64) -> &mut Self {
        self.add(if controlling {
            Attribute::IceControlling(tie_breaker)
        } else {
            Attribute::IceControlled(tie_breaker)
        })
    }
    /// ERROR-CODE.
    pub fn error_code(&mut self, code: u16, reason: &str) -> &mut Self {
        self.add(Attribute::ErrorCode(ErrorCode {
            code,
            reason: Text::new(reason),
        }))
    }
    /// UNKNOWN-ATTRIBUTES (with a 420 error).
    pub fn unknown_attributes(&mut self, types: &[u16]) -> &mut Self {
        self.add(Attribute::UnknownAttributes(UnknownAttributes::new(types)))
    }
    /// XOR-MAPPED-ADDRESS.
    pub fn xor_mapped_address(&mut self, a: SocketAddr) -> &mut Self {
        self.add(Attribute::XorMappedAddress(a))
    }

    /// Adds MESSAGE-INTEGRITY (when `key` is given) and FINGERPRINT, and returns the bytes.
    /// This keys the HMAC for this one message; [`Builder::finish_with`] takes a prepared key.
    pub fn finish(self, key: Option<&[u8]>) -> Bytes {
        match key.map(IntegrityKey::from_raw) {
            Some(Ok(k)) => self.finish_with(Some(&k)),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "ice: bad integrity key");
                self.finish_with(None)
            }
            None => self.finish_with(None),
        }
    }

    /// Adds MESSAGE-INTEGRITY with a prepared key (when given) and FINGERPRINT, and returns
    /// the bytes.
    pub fn finish_with(mut self, key: Option<&IntegrityKey>) -> Bytes {
        if let Some(k) = key {
            let _ = self.b.add_message_integrity(k);
        }
        let _ = self.b.add_fingerprint();
        self.b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5769_sample_request() {
        // RFC 5769 §2.1, password "VOkJxbRl1RmTxUk/WvJxBt".
        let hex = "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let m = Message::parse(Bytes::from(bytes)).unwrap();
        assert_eq!(m.class, Class::Request);
        assert_eq!(m.priority, Some(0x6e0001ff));
        assert_eq!(m.ice_controlled, Some(0x932ff9b151263b36));
        assert_eq!(m.username.as_deref(), Some(&b"evtj:h6vY"[..]));
        m.verify_integrity(b"VOkJxbRl1RmTxUk/WvJxBt").unwrap();
        assert!(m.verify_integrity(b"wrong").is_err());
        // The same with prepared keys.
        let key = integrity_key(b"VOkJxbRl1RmTxUk/WvJxBt").unwrap();
        m.verify_with(&key).unwrap();
        let wrong = integrity_key(b"VOkJxbRl1RmTxUk/WvJxBT").unwrap();
        assert!(m.verify_with(&wrong).is_err());
    }

    #[test]
    fn build_parse_round_trip() {
        let tid = [7u8; 12];
        for addr in [
            "192.0.2.1:32853",
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853",
        ] {
            let a: SocketAddr = addr.parse().unwrap();
            let mut b = Builder::new(Class::SuccessResponse, BINDING, &tid);
            b.xor_mapped_address(a);
            let raw = b.finish(Some(b"pw"));
            let m = Message::parse(raw.clone()).unwrap();
            assert_eq!(m.class, Class::SuccessResponse);
            assert_eq!(m.mapped_address, Some(a));
            m.verify_integrity(b"pw").unwrap();
            // Every truncation is an error, and a flipped bit fails fingerprint or integrity.
            for n in 0..raw.len() {
                assert!(Message::parse(raw.slice(..n)).is_err());
            }
            let mut bad = raw.to_vec();
            bad[25] ^= 1;
            let r = Message::parse(Bytes::from(bad));
            assert!(r.is_err() || r.unwrap().verify_integrity(b"pw").is_err());
        }
        let mut b = Builder::new(Class::ErrorResponse, BINDING, &tid);
        b.error_code(487, "Role Conflict")
            .role(true, 42)
            .use_candidate()
            .priority(9)
            .username("a:b");
        let m = Message::parse(b.finish(None)).unwrap();
        assert!(!m.has_integrity);
        assert_eq!(m.error_code, Some(487));
        assert_eq!(m.ice_controlling, Some(42));
        assert!(m.use_candidate);
        assert_eq!(m.priority, Some(9));
        assert_eq!(m.class, Class::ErrorResponse);
    }

    #[test]
    fn share_slices_inside_and_copies_outside() {
        let buf = Bytes::from_static(b"0123456789");
        let inside = share(&buf, &buf[3..7]);
        assert_eq!(&inside[..], b"3456");
        assert_eq!(inside.as_ptr(), buf[3..].as_ptr(), "no copy");
        let other = b"3456".to_vec();
        let outside = share(&buf, &other);
        assert_eq!(&outside[..], b"3456");
        assert_ne!(outside.as_ptr(), other.as_ptr());
        assert_eq!(&share(&buf, &buf[10..])[..], b"");
    }

    #[test]
    fn prepared_key_signs_what_the_password_verifies() {
        let key = integrity_key(b"pw").unwrap();
        let mut b = Builder::new(Class::Request, BINDING, &[3; 12]);
        b.username("r:l").priority(5);
        let raw = b.finish_with(Some(&key));
        let m = Message::parse(raw).unwrap();
        assert!(m.has_integrity);
        m.verify_integrity(b"pw").unwrap();
        assert!(m.verify_integrity(b"pv").is_err());
        let other = integrity_key(b"pv").unwrap();
        assert!(m.verify_with(&other).is_err());
    }
}
