//! Field checks shared by the attribute grammars: each says what is wrong, and whether it
//! is the grammar ([`Problem::Syntax`]) or a number out of range ([`Problem::Value`]).

use super::{Attribute, VResult};
use crate::error::Problem;
use crate::util::{is_digits, is_non_ws, parse_decimal, parse_u16, parse_u32, parse_u64};

/// Payload type: 1–3 digits, 0–127.
#[inline]
pub(crate) fn parse_payload_type(s: &str) -> Option<u8> {
    let mut v: u16 = 0;
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 3 {
        return None;
    }
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            return None;
        }
        v = v * 10 + u16::from(d);
    }
    u8::try_from(v).ok().filter(|&p| p <= 127)
}

pub(crate) fn need(value: Option<&str>) -> VResult<&str> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err("needs a value".into()),
    }
}

pub(crate) fn flag<'a>(value: Option<&str>, a: Attribute<'a>) -> VResult<Attribute<'a>> {
    match value {
        None => Ok(a),
        Some(_) => Err("takes no value".into()),
    }
}

pub(crate) fn non_ws(v: &str, what: &'static str) -> VResult<()> {
    if is_non_ws(v) {
        Ok(())
    } else {
        Err(format!("{what} must be one word without spaces, got {v:?}").into())
    }
}

pub(crate) fn decimal(value: Option<&str>) -> VResult<f64> {
    let v = need(value)?;
    parse_decimal(v).ok_or_else(|| format!("{v:?} is not a decimal number").into())
}

/// Digits read by `parse`: not digits is a syntax error, digits that `parse` refuses a
/// value outside `range`.
fn number<T>(s: &str, what: &str, parse: fn(&str) -> Option<T>, range: &'static str) -> VResult<T> {
    match parse(s) {
        Some(v) => Ok(v),
        None if is_digits(s) => Err(Problem::range(format!("{what} {s}"), range)),
        None => Err(format!("{what} {s:?} is not a number").into()),
    }
}

pub(crate) fn pt(s: &str) -> VResult<u8> {
    number(s, "payload type", parse_payload_type, "0-127")
}

/// Digits as a `u16`: not digits is a syntax error, too large an out-of-range value.
pub(crate) fn number_u16(s: &str, what: &str) -> VResult<u16> {
    number(s, what, parse_u16, "0-65535")
}

/// Digits as a `u32` (see [`number_u16`]).
pub(crate) fn number_u32(s: &str, what: &str) -> VResult<u32> {
    number(s, what, parse_u32, "0-4294967295")
}

/// Digits as a `u64` (see [`number_u16`]).
pub(crate) fn number_u64(s: &str, what: &str) -> VResult<u64> {
    number(s, what, parse_u64, "0-18446744073709551615")
}
