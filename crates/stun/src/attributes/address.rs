//! The address attributes: MAPPED-ADDRESS (RFC 8489 §14.1), XOR-MAPPED-ADDRESS (§14.2),
//! ALTERNATE-SERVER (§14.15), XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS (RFC 8656 §18.3,
//! §18.5), and the address family of REQUESTED-ADDRESS-FAMILY and friends (RFC 8656 §18.6).

use crate::header::{TransactionId, MAGIC_COOKIE};
use crate::wire::{array, exact, NomError, Reason};
use bytes::BufMut;
use nom::number::complete::{be_u16, be_u8};
use nom::Parser;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Address family of REQUESTED-ADDRESS-FAMILY and friends (RFC 8656 §18.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// 0x01
    V4,
    /// 0x02
    V6,
}

impl AddressFamily {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            AddressFamily::V4 => 1,
            AddressFamily::V6 => 2,
        }
    }
    pub(crate) fn from_u8(v: u8) -> Result<Self, Reason> {
        match v {
            1 => Ok(AddressFamily::V4),
            2 => Ok(AddressFamily::V6),
            _ => Err("unknown address family"),
        }
    }
    /// The family of an IP address.
    pub fn of(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => AddressFamily::V4,
            IpAddr::V6(_) => AddressFamily::V6,
        }
    }
}

/// REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.6, §18.11): a family
/// byte and 24 reserved bits.
pub(crate) fn family_value(v: &[u8]) -> Result<AddressFamily, Reason> {
    let (family, _rffu) = exact((be_u8, array::<3>), v)?;
    AddressFamily::from_u8(family)
}

/// An address value (RFC 8489 §14.1, Figure 5; XOR form §14.2, Figure 6):
///
/// ```text
/// |0 0 0 0 0 0 0 0|    Family     |           Port                |
/// |                 Address (32 bits or 128 bits)                 |
/// ```
///
/// With `xor`, port and address are XORed with the magic cookie (and for IPv6 the
/// transaction id).
pub(crate) fn address(v: &[u8], xor: Option<&TransactionId>) -> Result<SocketAddr, Reason> {
    let (addr, (_, family, port)) = (be_u8, be_u8, be_u16)
        .parse(v)
        .map_err(|_: nom::Err<NomError<'_>>| "address value shorter than 4 bytes")?;
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = if xor.is_some() {
        port ^ (MAGIC_COOKIE >> 16) as u16
    } else {
        port
    };
    let ip = match family {
        1 => {
            let mut a = exact(array::<4>, addr)?;
            if xor.is_some() {
                for (b, c) in a.iter_mut().zip(cookie) {
                    *b ^= c;
                }
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        2 => {
            let mut a = exact(array::<16>, addr)?;
            if let Some(tid) = xor {
                let mask = cookie.iter().chain(tid.0.iter());
                for (b, c) in a.iter_mut().zip(mask) {
                    *b ^= c;
                }
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        _ => return Err("unknown address family"),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Length of an address value.
pub(crate) fn address_len(a: &SocketAddr) -> usize {
    if a.is_ipv4() {
        8
    } else {
        20
    }
}

/// Write an address value (XORed with `xor`).
pub(crate) fn write_address(a: &SocketAddr, xor: Option<&TransactionId>, out: &mut impl BufMut) {
    out.put_u8(0);
    let cookie = MAGIC_COOKIE.to_be_bytes();
    let port = if xor.is_some() {
        a.port() ^ (MAGIC_COOKIE >> 16) as u16
    } else {
        a.port()
    };
    match a.ip() {
        IpAddr::V4(ip) => {
            out.put_u8(1);
            out.put_u16(port);
            let mut o = ip.octets();
            if xor.is_some() {
                for (b, c) in o.iter_mut().zip(cookie) {
                    *b ^= c;
                }
            }
            out.put_slice(&o);
        }
        IpAddr::V6(ip) => {
            out.put_u8(2);
            out.put_u16(port);
            let mut o = ip.octets();
            if let Some(tid) = xor {
                for (b, c) in o.iter_mut().zip(cookie.iter().chain(tid.0.iter())) {
                    *b ^= c;
                }
            }
            out.put_slice(&o);
        }
    }
}
