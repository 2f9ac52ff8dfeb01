//! The 20-byte STUN header: message type (class + method), length, magic cookie and
//! transaction id (RFC 8489 §5, §6).

use std::fmt;

/// The fixed magic cookie, which also tells STUN apart from other protocols on one port.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;

/// The class of a message: two bits interleaved into the message type (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A request, answered by a success or error response.
    Request,
    /// An indication: no response.
    Indication,
    /// A success response.
    SuccessResponse,
    /// An error response (carries ERROR-CODE).
    ErrorResponse,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::SuccessResponse => 0b10,
            Class::ErrorResponse => 0b11,
        }
    }
    fn from_bits(b: u16) -> Self {
        match b & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        }
    }
    /// Whether this is a response of either kind.
    pub fn is_response(self) -> bool {
        matches!(self, Class::SuccessResponse | Class::ErrorResponse)
    }
}

/// A 12-bit STUN method. Known methods are associated constants; others are kept as is.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(u16);

impl Method {
    /// Binding (RFC 8489).
    pub const BINDING: Method = Method(0x001);
    /// Allocate (RFC 8656).
    pub const ALLOCATE: Method = Method(0x003);
    /// Refresh (RFC 8656).
    pub const REFRESH: Method = Method(0x004);
    /// Send (RFC 8656, indication only).
    pub const SEND: Method = Method(0x006);
    /// Data (RFC 8656, indication only).
    pub const DATA: Method = Method(0x007);
    /// CreatePermission (RFC 8656).
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// ChannelBind (RFC 8656).
    pub const CHANNEL_BIND: Method = Method(0x009);

    /// A method from its 12-bit number; higher bits are dropped.
    pub const fn new(m: u16) -> Self {
        Method(m & 0x0FFF)
    }
    /// The 12-bit method number.
    pub const fn value(self) -> u16 {
        self.0
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Method::BINDING => "Binding",
            Method::ALLOCATE => "Allocate",
            Method::REFRESH => "Refresh",
            Method::SEND => "Send",
            Method::DATA => "Data",
            Method::CREATE_PERMISSION => "CreatePermission",
            Method::CHANNEL_BIND => "ChannelBind",
            _ => return write!(f, "Method({:#05x})", self.0),
        };
        f.write_str(name)
    }
}

/// Class and method together, as encoded in the first 16 bits of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType {
    /// The class.
    pub class: Class,
    /// The method.
    pub method: Method,
}

impl MessageType {
    /// A message type from its parts.
    pub const fn new(method: Method, class: Class) -> Self {
        MessageType { class, method }
    }

    /// Encode: the class bits C1 C0 sit at bits 8 and 4, the method bits around them
    /// (RFC 8489 Figure 3).
    pub fn to_u16(self) -> u16 {
        let m = self.method.0;
        let c = self.class.bits();
        (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
    }

    /// Decode the 14 significant bits (the top two must have been checked to be zero).
    pub fn from_u16(v: u16) -> Self {
        let method = (v & 0x000F) | ((v >> 1) & 0x0070) | ((v >> 2) & 0x0F80);
        let class = ((v >> 4) & 1) | ((v >> 7) & 2);
        MessageType {
            class: Class::from_bits(class),
            method: Method(method),
        }
    }
}

/// The 96-bit transaction id that matches responses to requests.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh random id; RFC 8489 §6 asks for a cryptographically random value.
    pub fn random(rng: &mut impl rand_core::RngCore) -> Self {
        let mut id = [0u8; 12];
        rng.fill_bytes(&mut id);
        TransactionId(id)
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransactionId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_encoding_known_values() {
        // Values from RFC 8489 and RFC 8656 wire captures.
        let cases = [
            (Method::BINDING, Class::Request, 0x0001),
            (Method::BINDING, Class::SuccessResponse, 0x0101),
            (Method::BINDING, Class::ErrorResponse, 0x0111),
            (Method::BINDING, Class::Indication, 0x0011),
            (Method::ALLOCATE, Class::Request, 0x0003),
            (Method::ALLOCATE, Class::ErrorResponse, 0x0113),
            (Method::SEND, Class::Indication, 0x0016),
            (Method::DATA, Class::Indication, 0x0017),
            (Method::CHANNEL_BIND, Class::SuccessResponse, 0x0109),
        ];
        for (m, c, v) in cases {
            let t = MessageType::new(m, c);
            assert_eq!(t.to_u16(), v, "{t:?}");
            assert_eq!(MessageType::from_u16(v), t);
        }
    }

    #[test]
    fn type_roundtrip_all() {
        for v in 0u16..0x4000 {
            assert_eq!(MessageType::from_u16(v).to_u16(), v);
        }
    }
}
