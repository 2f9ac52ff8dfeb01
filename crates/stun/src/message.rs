//! Parsing (zero-copy, integrity-first) and building of STUN messages.
//!
//! # Integrity first
//!
//! [`Message::parse`] checks structure and FINGERPRINT only. Attribute values are reached
//! through an [`Attributes`] view, and the only ways to get one are
//! [`Message::verify_integrity`], which checks MESSAGE-INTEGRITY-SHA256 or
//! MESSAGE-INTEGRITY in constant time, and the explicitly named
//! [`Message::attributes_unverified`] for messages that are unauthenticated by design
//! (a 401 challenge, a Binding request to a public STUN server, its response). Before
//! verification, only what is needed to choose a key is offered ([`Message::username`],
//! [`Message::userhash`], [`Message::realm`], [`Message::nonce`]).
//!
//! Both views stop at the first integrity attribute: attributes after it are not covered
//! by the HMAC and are ignored (RFC 8489 §14.5).

use crate::attributes::address::address;
use crate::attributes::errors::code_and_reason;
use crate::attributes::text::text;
use crate::attributes::{attr, channel_number, Attribute, MAX_TEXT_LEN, MAX_USERNAME_LEN};
use crate::error::Error;
use crate::header::{Class, MessageType, Method, TransactionId, HEADER_LEN, MAGIC_COOKIE};
use crate::integrity::IntegrityKey;
use crate::wire::{self, array, exact, padded_value, NomError, Reason};
use bytes::{BufMut, Bytes, BytesMut};
use hmac::Mac;
use nom::number::complete::{be_u32, be_u64};
use nom::Parser;
use std::net::SocketAddr;

/// XOR constant of FINGERPRINT (RFC 8489 §14.7).
pub const FINGERPRINT_XOR: u32 = 0x5354_554E;

/// How many comprehension-required unknown attributes a parsed message remembers.
pub const MAX_REPORTED_UNKNOWN: usize = 8;

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Most attributes accepted in one message.
    pub max_attributes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits { max_attributes: 64 }
    }
}

/// Which integrity attribute a message carries (the one that will be checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrityKind {
    /// MESSAGE-INTEGRITY (HMAC-SHA1).
    Sha1,
    /// MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, possibly truncated).
    Sha256,
}

/// A parsed STUN message: a view over the received bytes, structure checked,
/// FINGERPRINT (if present) checked, integrity not yet checked.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    buf: Bytes,
    mtype: MessageType,
    tid: TransactionId,
    /// Offset of the first MESSAGE-INTEGRITY attribute (if before any MI-SHA256).
    mi: Option<usize>,
    /// Offset of the first MESSAGE-INTEGRITY-SHA256 attribute.
    mi256: Option<usize>,
    /// Offset of FINGERPRINT (always the last attribute).
    fingerprint: Option<usize>,
    unknown: [u16; MAX_REPORTED_UNKNOWN],
    unknown_len: usize,
    /// Offset of the first attribute of each [`INDEXED`] type (0: absent; no attribute starts
    /// in the header), noted by the parse walk so that the per-check reads of an ICE
    /// connectivity check do not walk the attributes again.
    first: [u32; INDEXED.len()],
}

/// What the parse walk notes about the attributes (the [`Message`] fields of the same names).
/// Kept apart from the message while walking and moved into it field by field once at the
/// end: building the whole message early and then moving it out (with the `Bytes` stored
/// last) made the return copy wide loads over the walk's narrow stores still in flight.
#[derive(Clone, Copy)]
struct Notes {
    mi: Option<usize>,
    mi256: Option<usize>,
    fingerprint: Option<usize>,
    unknown: [u16; MAX_REPORTED_UNKNOWN],
    unknown_len: usize,
    first: [u32; INDEXED.len()],
}

/// The attribute types whose first occurrence the parse notes: what every ICE connectivity
/// check reads (RFC 8445 §7.3).
const INDEXED: [u16; 5] = [
    attr::USERNAME,
    attr::PRIORITY,
    attr::ICE_CONTROLLING,
    attr::ICE_CONTROLLED,
    attr::USE_CANDIDATE,
];

/// The slot of `t` in [`INDEXED`].
#[inline]
fn indexed_slot(t: u16) -> Option<usize> {
    INDEXED.iter().position(|&i| i == t)
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("class", &self.mtype.class)
            .field("method", &self.mtype.method)
            .field("transaction_id", &self.tid)
            .field("len", &self.buf.len())
            .field("integrity", &self.integrity())
            .field("fingerprint", &self.fingerprint.is_some())
            .finish()
    }
}

/// Quick check used by demultiplexers: does `data` look like a STUN message (top bits,
/// magic cookie, aligned length)? Does not validate attributes.
pub fn is_stun(data: &[u8]) -> bool {
    wire::header(data).is_ok_and(|(_, h)| {
        h.message_type & 0xC000 == 0 && h.cookie == MAGIC_COOKIE && h.length.is_multiple_of(4)
    })
}

/// On a byte stream (TCP/TLS), the length of the STUN message that starts `data`, once its
/// header has arrived (RFC 8489 §6.2.2 framing).
pub fn stun_frame_len(data: &[u8]) -> Option<usize> {
    let (_, (_, len)) = wire::type_and_length(data).ok()?;
    Some(HEADER_LEN + usize::from(len))
}

impl Message {
    /// Parse with the default [`ParseLimits`].
    pub fn parse(buf: Bytes) -> Result<Message, Error> {
        Self::parse_with(buf, &ParseLimits::default())
    }

    /// Parse a whole datagram (or one framed message of a stream). Checks the header, every
    /// attribute's bounds, the placement of integrity and FINGERPRINT attributes, and the
    /// FINGERPRINT value. Does not allocate.
    pub fn parse_with(buf: Bytes, limits: &ParseLimits) -> Result<Message, Error> {
        let d = &buf[..];
        let have = d.len();
        let (body, h) = wire::header(d).map_err(|_| Error::Truncated {
            what: "header",
            needed: HEADER_LEN,
            have,
        })?;
        // RFC 8489 §5: the top two bits are zero, the cookie is fixed, the length counts
        // whole 32-bit words and every byte of the datagram.
        if h.message_type & 0xC000 != 0 {
            return Err(Error::NotStun((h.message_type >> 8) as u8));
        }
        if h.cookie != MAGIC_COOKIE {
            return Err(Error::BadMagicCookie(h.cookie));
        }
        if !h.length.is_multiple_of(4) {
            return Err(Error::UnalignedLength(h.length));
        }
        if usize::from(h.length) != body.len() {
            return Err(Error::LengthMismatch {
                declared: usize::from(h.length),
                actual: body.len(),
            });
        }
        let mut notes = Notes {
            mi: None,
            mi256: None,
            fingerprint: None,
            unknown: [0; MAX_REPORTED_UNKNOWN],
            unknown_len: 0,
            first: [0; INDEXED.len()],
        };
        let mut carried_fingerprint = 0;
        let mut rest = body;
        let mut count = 0usize;
        while !rest.is_empty() {
            let off = have - rest.len();
            let (r, (t, l)) = wire::attribute_header(rest).map_err(|_| Error::Truncated {
                what: "attribute header",
                needed: off + 4,
                have,
            })?;
            let (r, value) = padded_value(l)
                .parse(r)
                .map_err(|_: nom::Err<NomError<'_>>| Error::AttributeOverflow {
                    attr_type: t,
                    offset: off,
                    length: l,
                })?;
            rest = r;
            if let Some(fp) = notes.fingerprint {
                return Err(Error::FingerprintNotLast(fp));
            }
            count += 1;
            if count > limits.max_attributes {
                return Err(Error::TooManyAttributes(limits.max_attributes));
            }
            notes
                .note_attribute(t, value, off, &mut carried_fingerprint)
                .map_err(|reason| Error::InvalidAttribute {
                    attr_type: t,
                    offset: off,
                    reason,
                })?;
        }
        if let Some(fp) = notes.fingerprint {
            // RFC 8489 §14.7: CRC-32 of the message up to the FINGERPRINT attribute.
            let computed = crc32fast::hash(d.get(..fp).unwrap_or_default()) ^ FINGERPRINT_XOR;
            if carried_fingerprint != computed {
                return Err(Error::FingerprintMismatch {
                    carried: carried_fingerprint,
                    computed,
                });
            }
        }
        Ok(Message {
            mtype: MessageType::from_u16(h.message_type),
            tid: TransactionId(h.transaction_id),
            mi: notes.mi,
            mi256: notes.mi256,
            fingerprint: notes.fingerprint,
            unknown: notes.unknown,
            unknown_len: notes.unknown_len,
            first: notes.first,
            buf,
        })
    }
}

impl Notes {
    /// What parsing remembers of one attribute: where the integrity attributes and
    /// FINGERPRINT are (checking their lengths), and the comprehension-required types this
    /// crate does not know.
    fn note_attribute(
        &mut self,
        t: u16,
        value: &[u8],
        off: usize,
        carried_fingerprint: &mut u32,
    ) -> Result<(), Reason> {
        let covered = self.mi.is_none() && self.mi256.is_none();
        match t {
            attr::MESSAGE_INTEGRITY => {
                if value.len() != 20 {
                    return Err("MESSAGE-INTEGRITY must be 20 bytes");
                }
                if covered {
                    self.mi = Some(off);
                }
            }
            attr::MESSAGE_INTEGRITY_SHA256 => {
                let l = value.len();
                if !(16..=32).contains(&l) || !l.is_multiple_of(4) {
                    return Err("MESSAGE-INTEGRITY-SHA256 must be 16..32 bytes, multiple of 4");
                }
                if self.mi256.is_none() {
                    self.mi256 = Some(off);
                }
            }
            attr::FINGERPRINT => {
                *carried_fingerprint =
                    exact(be_u32, value).map_err(|_| "FINGERPRINT must be 4 bytes")?;
                self.fingerprint = Some(off);
            }
            _ => {
                if let Some(slot) = indexed_slot(t).and_then(|i| self.first.get_mut(i)) {
                    if *slot == 0 {
                        *slot = u32::try_from(off).unwrap_or(0);
                    }
                } else if covered && attr::is_comprehension_required(t) && !attr::is_known(t) {
                    if let Some(slot) = self.unknown.get_mut(self.unknown_len) {
                        *slot = t;
                        self.unknown_len += 1;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Message {
    /// The whole message as received.
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }
    /// Class and method.
    pub fn message_type(&self) -> MessageType {
        self.mtype
    }
    /// The class.
    pub fn class(&self) -> Class {
        self.mtype.class
    }
    /// The method.
    pub fn method(&self) -> Method {
        self.mtype.method
    }
    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }
    /// Whether a (valid) FINGERPRINT is present.
    #[inline]
    pub fn has_fingerprint(&self) -> bool {
        self.fingerprint.is_some()
    }
    /// Which integrity attribute [`Self::verify_integrity`] will check, if any.
    pub fn integrity(&self) -> Option<IntegrityKind> {
        if self.mi256.is_some() {
            Some(IntegrityKind::Sha256)
        } else if self.mi.is_some() {
            Some(IntegrityKind::Sha1)
        } else {
            None
        }
    }
    /// Comprehension-required attributes (type < 0x8000) this crate does not understand,
    /// in order, at most [`MAX_REPORTED_UNKNOWN`]. A server answers a request that has any
    /// with 420 (Unknown Attribute) and an UNKNOWN-ATTRIBUTES listing them (RFC 8489 §6.3.1).
    pub fn unknown_comprehension_required(&self) -> &[u16] {
        self.unknown.get(..self.unknown_len).unwrap_or_default()
    }

    /// End of the attributes covered by integrity: the first integrity attribute, else the
    /// FINGERPRINT, else the end.
    ///
    /// Written as three scalar `min`s: the array-and-iterator form built the three options on
    /// the stack and read them back with wide loads over narrow stores (a store-forwarding
    /// stall that perf put at a fifth of `verify_integrity`).
    #[inline]
    fn covered_end(&self) -> usize {
        let first = self
            .mi
            .unwrap_or(usize::MAX)
            .min(self.mi256.unwrap_or(usize::MAX))
            .min(self.fingerprint.unwrap_or(usize::MAX));
        if first == usize::MAX {
            self.buf.len()
        } else {
            first
        }
    }

    /// The attributes a receiver may look at to choose a key (see the public accessors).
    fn pre_auth(&self) -> Attributes<'_> {
        Attributes {
            msg: self,
            end: self.covered_end(),
        }
    }

    /// USERNAME, unauthenticated: only for choosing the key to verify with.
    pub fn username(&self) -> Result<Option<&str>, Error> {
        self.pre_auth().username()
    }
    /// USERHASH, unauthenticated: only for choosing the key to verify with.
    pub fn userhash(&self) -> Result<Option<[u8; 32]>, Error> {
        self.pre_auth().fixed::<32>(attr::USERHASH)
    }
    /// REALM, unauthenticated: only for choosing the key to verify with.
    pub fn realm(&self) -> Result<Option<&str>, Error> {
        self.pre_auth().text(attr::REALM, MAX_TEXT_LEN)
    }
    /// NONCE, unauthenticated: only for choosing the key to verify with.
    pub fn nonce(&self) -> Result<Option<&str>, Error> {
        self.pre_auth().text(attr::NONCE, MAX_TEXT_LEN)
    }

    /// Check MESSAGE-INTEGRITY-SHA256 (preferred when present, RFC 8489 §9.2.4) or else
    /// MESSAGE-INTEGRITY against `key`, in constant time, and give access to the attributes
    /// the HMAC covers.
    pub fn verify_integrity(&self, key: &IntegrityKey) -> Result<Attributes<'_>, Error> {
        let d = &self.buf[..];
        if let Some(off) = self.mi256 {
            let (_, tag) = wire::attribute_at(d, off).ok_or(Error::IntegrityMissing)?;
            let mut mac = key.sha256().clone();
            feed_with_length(&mut mac, d, off, off + 4 + tag.len());
            mac.verify_truncated_left(tag)
                .map_err(|_| Error::IntegrityMismatch("MESSAGE-INTEGRITY-SHA256"))?;
        } else if let Some(off) = self.mi {
            let (_, tag) = wire::attribute_at(d, off).ok_or(Error::IntegrityMissing)?;
            let len = ((off + 24 - HEADER_LEN) as u16).to_be_bytes();
            let computed = key.sha1.tag(&[
                d.get(..2).unwrap_or_default(),
                &len,
                d.get(4..off).unwrap_or_default(),
            ]);
            // Constant time, so that timing does not reveal how much of a forged tag is right:
            // OR all byte differences together, then one constant-time test of the result.
            let diff = computed
                .iter()
                .zip(tag)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if tag.len() != computed.len() || !bool::from(subtle::ConstantTimeEq::ct_eq(&diff, &0))
            {
                return Err(Error::IntegrityMismatch("MESSAGE-INTEGRITY"));
            }
        } else {
            return Err(Error::IntegrityMissing);
        }
        Ok(Attributes {
            msg: self,
            end: self.covered_end(),
        })
    }

    /// The attributes without any integrity check. Only for messages that carry no
    /// authentication by design (a 401/438 challenge, Binding with a public STUN server,
    /// TURN Data indications); never for a request you act on with credentials.
    pub fn attributes_unverified(&self) -> Attributes<'_> {
        Attributes {
            msg: self,
            end: self.covered_end(),
        }
    }
}

/// Feed the HMAC with the message up to `off`, the header length field replaced by one that
/// ends at `attr_end` (RFC 8489 §14.5), without copying the message.
fn feed_with_length(mac: &mut impl Mac, d: &[u8], off: usize, attr_end: usize) {
    let len = (attr_end - HEADER_LEN) as u16;
    mac.update(d.get(..2).unwrap_or_default());
    mac.update(&len.to_be_bytes());
    mac.update(d.get(4..off).unwrap_or_default());
}

/// The attributes of a message that the caller may believe: either verified by
/// [`Message::verify_integrity`] or explicitly taken unverified.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    msg: &'a Message,
    end: usize,
}

/// One attribute as found on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttribute<'a> {
    /// Attribute type.
    pub attr_type: u16,
    /// Offset of its header in the message.
    pub offset: usize,
    /// Value without padding.
    pub value: &'a [u8],
}

impl<'a> Attributes<'a> {
    /// The message these attributes belong to.
    pub fn message(&self) -> &'a Message {
        self.msg
    }

    /// Raw attributes in order (structure was validated by parse).
    pub fn raw(&self) -> impl Iterator<Item = RawAttribute<'a>> + 'a {
        wire::attributes(&self.msg.buf, self.end).map(|(offset, attr_type, value)| RawAttribute {
            attr_type,
            offset,
            value,
        })
    }

    /// The first attribute of type `t`.
    #[inline]
    pub fn find(&self, t: u16) -> Option<RawAttribute<'a>> {
        if let Some(&first) = indexed_slot(t).and_then(|i| self.msg.first.get(i)) {
            // Noted by the parse: the first one, or none; one beyond `end` means none before.
            let offset = usize::try_from(first)
                .ok()
                .filter(|&o| o != 0 && o < self.end)?;
            let (_, value) = wire::attribute_at(&self.msg.buf, offset)?;
            return Some(RawAttribute {
                attr_type: t,
                offset,
                value,
            });
        }
        self.raw().find(|a| a.attr_type == t)
    }

    /// All attributes, decoded (values are zero-copy slices of the message).
    pub fn iter(&self) -> impl Iterator<Item = Result<Attribute, Error>> + 'a {
        let msg = self.msg;
        self.raw().map(move |a| {
            Attribute::decode(a.attr_type, msg.buf.slice_ref(a.value), &msg.tid, a.offset)
        })
    }

    /// The first attribute of type `t`, decoded.
    pub fn get(&self, t: u16) -> Option<Result<Attribute, Error>> {
        let a = self.find(t)?;
        Some(Attribute::decode(
            t,
            self.msg.buf.slice_ref(a.value),
            &self.msg.tid,
            a.offset,
        ))
    }

    /// Run the value grammar `p` on the first attribute of type `t`.
    fn value<T>(
        &self,
        t: u16,
        p: impl FnOnce(&'a [u8]) -> Result<T, Reason>,
    ) -> Result<Option<T>, Error> {
        let Some(a) = self.find(t) else {
            return Ok(None);
        };
        p(a.value)
            .map(Some)
            .map_err(|reason| Error::InvalidAttribute {
                attr_type: t,
                offset: a.offset,
                reason,
            })
    }

    fn text(&self, t: u16, max: usize) -> Result<Option<&'a str>, Error> {
        self.value(t, |v| text(v, max))
    }

    fn fixed<const N: usize>(&self, t: u16) -> Result<Option<[u8; N]>, Error> {
        self.value(t, |v| exact(array::<N>, v))
    }

    fn address(&self, t: u16, xor: bool) -> Result<Option<SocketAddr>, Error> {
        let tid = &self.msg.tid;
        self.value(t, |v| address(v, xor.then_some(tid)))
    }

    /// USERNAME.
    #[inline]
    pub fn username(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::USERNAME, MAX_USERNAME_LEN)
    }
    /// REALM.
    pub fn realm(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::REALM, MAX_TEXT_LEN)
    }
    /// NONCE.
    pub fn nonce(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::NONCE, MAX_TEXT_LEN)
    }
    /// SOFTWARE.
    pub fn software(&self) -> Result<Option<&'a str>, Error> {
        self.text(attr::SOFTWARE, MAX_TEXT_LEN)
    }
    /// PRIORITY.
    #[inline]
    pub fn priority(&self) -> Result<Option<u32>, Error> {
        self.value(attr::PRIORITY, |v| exact(be_u32, v))
    }
    /// LIFETIME (seconds).
    pub fn lifetime(&self) -> Result<Option<u32>, Error> {
        self.value(attr::LIFETIME, |v| exact(be_u32, v))
    }
    /// ICE-CONTROLLING tie-breaker.
    #[inline]
    pub fn ice_controlling(&self) -> Result<Option<u64>, Error> {
        self.value(attr::ICE_CONTROLLING, |v| exact(be_u64, v))
    }
    /// ICE-CONTROLLED tie-breaker.
    #[inline]
    pub fn ice_controlled(&self) -> Result<Option<u64>, Error> {
        self.value(attr::ICE_CONTROLLED, |v| exact(be_u64, v))
    }
    /// Whether USE-CANDIDATE is present.
    #[inline]
    pub fn use_candidate(&self) -> bool {
        self.find(attr::USE_CANDIDATE).is_some()
    }
    /// CHANNEL-NUMBER.
    pub fn channel_number(&self) -> Result<Option<u16>, Error> {
        self.value(attr::CHANNEL_NUMBER, channel_number)
    }
    /// XOR-MAPPED-ADDRESS.
    pub fn xor_mapped_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::XOR_MAPPED_ADDRESS, true)
    }
    /// MAPPED-ADDRESS.
    pub fn mapped_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::MAPPED_ADDRESS, false)
    }
    /// XOR-RELAYED-ADDRESS.
    pub fn xor_relayed_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::XOR_RELAYED_ADDRESS, true)
    }
    /// XOR-PEER-ADDRESS (the first one).
    pub fn xor_peer_address(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::XOR_PEER_ADDRESS, true)
    }
    /// ALTERNATE-SERVER.
    pub fn alternate_server(&self) -> Result<Option<SocketAddr>, Error> {
        self.address(attr::ALTERNATE_SERVER, false)
    }
    /// DATA, as a zero-copy slice.
    pub fn data(&self) -> Option<Bytes> {
        let a = self.find(attr::DATA)?;
        Some(self.msg.buf.slice_ref(a.value))
    }
    /// ERROR-CODE as (code, reason).
    pub fn error_code(&self) -> Result<Option<(u16, &'a str)>, Error> {
        // The accessor does not apply the reason-phrase length limit of `Attribute::decode`.
        self.value(attr::ERROR_CODE, |v| {
            let (code, reason) = code_and_reason(v)?;
            let reason = std::str::from_utf8(reason).map_err(|_| "text is not valid UTF-8")?;
            Ok((code, reason))
        })
    }
}

/// Builds a STUN message into a [`BytesMut`], keeping the header length current so that
/// integrity and fingerprint can be appended at any point.
#[derive(Debug)]
pub struct MessageBuilder {
    buf: BytesMut,
    tid: TransactionId,
}

impl MessageBuilder {
    /// Start a message in a new buffer.
    pub fn new(mtype: MessageType, tid: TransactionId) -> Self {
        Self::with_buffer(BytesMut::with_capacity(128), mtype, tid)
    }

    /// Start a message in `buf` (cleared first), so hot paths can reuse allocations.
    pub fn with_buffer(mut buf: BytesMut, mtype: MessageType, tid: TransactionId) -> Self {
        buf.clear();
        buf.put_u16(mtype.to_u16());
        buf.put_u16(0);
        buf.put_u32(MAGIC_COOKIE);
        buf.put_slice(&tid.0);
        MessageBuilder { buf, tid }
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }

    fn set_len(&mut self, body: usize) {
        if let Some(l) = self.buf.get_mut(2..4) {
            l.copy_from_slice(&(body as u16).to_be_bytes());
        }
    }

    fn reserve(&mut self, extra: usize) -> Result<usize, Error> {
        let body = self.buf.len() - HEADER_LEN + extra;
        if body > usize::from(u16::MAX) {
            return Err(Error::MessageTooLong(body));
        }
        Ok(body)
    }

    /// Append an attribute. MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT given here are
    /// written as is; use the `add_*` methods below to compute them.
    pub fn add(&mut self, a: &Attribute) -> Result<&mut Self, Error> {
        a.validate()?;
        let body = self.reserve(a.encoded_len())?;
        a.write_to(&self.tid, &mut self.buf);
        self.set_len(body);
        Ok(self)
    }

    /// Append MESSAGE-INTEGRITY (HMAC-SHA1 over everything so far, RFC 8489 §14.5).
    pub fn add_message_integrity(&mut self, key: &IntegrityKey) -> Result<&mut Self, Error> {
        let body = self.reserve(24)?;
        self.set_len(body);
        let tag = key.sha1.tag(&[&self.buf]);
        self.buf.put_u16(attr::MESSAGE_INTEGRITY);
        self.buf.put_u16(20);
        self.buf.put_slice(&tag);
        Ok(self)
    }

    /// Append MESSAGE-INTEGRITY-SHA256 with the full 32-byte tag (RFC 8489 §14.6).
    pub fn add_message_integrity_sha256(&mut self, key: &IntegrityKey) -> Result<&mut Self, Error> {
        let body = self.reserve(36)?;
        self.set_len(body);
        let mut mac = key.sha256().clone();
        mac.update(&self.buf);
        let tag = mac.finalize().into_bytes();
        self.buf.put_u16(attr::MESSAGE_INTEGRITY_SHA256);
        self.buf.put_u16(32);
        self.buf.put_slice(&tag);
        Ok(self)
    }

    /// Append FINGERPRINT (CRC-32 of everything so far XOR 0x5354554E, RFC 8489 §14.7).
    /// It must be the last attribute.
    pub fn add_fingerprint(&mut self) -> Result<&mut Self, Error> {
        let body = self.reserve(8)?;
        self.set_len(body);
        let crc = crc32fast::hash(&self.buf) ^ FINGERPRINT_XOR;
        self.buf.put_u16(attr::FINGERPRINT);
        self.buf.put_u16(4);
        self.buf.put_u32(crc);
        Ok(self)
    }

    /// The encoded message so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Finish, returning the buffer.
    pub fn finish(self) -> BytesMut {
        self.buf
    }

    /// Finish, returning frozen bytes.
    pub fn build(self) -> Bytes {
        self.buf.freeze()
    }
}
