//! PASSWORD-ALGORITHMS (RFC 8489 §14.11) and PASSWORD-ALGORITHM (§14.12).

use crate::wire::{padded, NomError, Reason};
use bytes::{BufMut, Bytes};
use nom::bytes::complete::take;
use nom::number::complete::be_u16;
use nom::Parser;

/// One entry of PASSWORD-ALGORITHM(S) (RFC 8489 §14.11, §14.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordAlgorithm {
    /// 0x0001 MD5, 0x0002 SHA-256.
    pub algorithm: u16,
    /// Algorithm parameters (empty for MD5 and SHA-256).
    pub params: Bytes,
}

/// An algorithm number and its parameters.
pub(crate) type Entry<'a> = (u16, &'a [u8]);

/// One entry (RFC 8489 §14.11, Figure 9), with the padding after its parameters (the last
/// entry's padding may be missing):
///
/// ```text
/// |         Algorithm 1           | Algorithm 1 Parameters Length |
/// |                    Algorithm 1 Parameters (variable)
/// ```
///
/// Returns the rest, the algorithm and its parameters.
pub(crate) fn entry(i: &[u8]) -> Result<(&[u8], Entry<'_>), Reason> {
    let (rest, (algorithm, len)) = (be_u16, be_u16.map(usize::from))
        .parse(i)
        .map_err(|_: nom::Err<NomError<'_>>| "password algorithm entry truncated")?;
    let (rest, params) = take(len)
        .parse(rest)
        .map_err(|_: nom::Err<NomError<'_>>| "password algorithm parameters run past the value")?;
    let pad = (padded(len) - len).min(rest.len());
    let rest = rest.get(pad..).unwrap_or_default();
    Ok((rest, (algorithm, params)))
}

impl PasswordAlgorithm {
    /// MD5 (RFC 8489 §18.5.1.1).
    pub const MD5: u16 = 0x0001;
    /// SHA-256 (RFC 8489 §18.5.1.2).
    pub const SHA256: u16 = 0x0002;

    pub(crate) fn encoded_len(&self) -> usize {
        4 + padded(self.params.len())
    }
    pub(crate) fn write(&self, out: &mut impl BufMut) {
        out.put_u16(self.algorithm);
        out.put_u16(self.params.len() as u16);
        out.put_slice(&self.params);
        out.put_bytes(0, padded(self.params.len()) - self.params.len());
    }
    /// The PASSWORD-ALGORITHM value: exactly one entry (parameters zero copy).
    pub(crate) fn parse(value: &Bytes) -> Result<Self, Reason> {
        let (rest, (algorithm, params)) = entry(value)?;
        if !rest.is_empty() {
            return Err("trailing bytes after PASSWORD-ALGORITHM");
        }
        Ok(PasswordAlgorithm {
            algorithm,
            params: value.slice_ref(params),
        })
    }
}

/// PASSWORD-ALGORITHMS: a list kept as its raw (validated) value; iterate with [`Self::iter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordAlgorithms(pub(crate) Bytes);

impl PasswordAlgorithms {
    /// Build the list (allocates).
    pub fn new(algs: &[PasswordAlgorithm]) -> Self {
        let mut v = Vec::new();
        for a in algs {
            a.write(&mut v);
        }
        PasswordAlgorithms(Bytes::from(v))
    }
    /// The PASSWORD-ALGORITHMS value: entries up to its end.
    pub(crate) fn parse(value: Bytes) -> Result<Self, Reason> {
        let mut rest = &value[..];
        while !rest.is_empty() {
            (rest, _) = entry(rest)?;
        }
        Ok(PasswordAlgorithms(value))
    }
    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = PasswordAlgorithm> + '_ {
        let mut rest = &self.0[..];
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (r, (algorithm, params)) = entry(rest).ok()?;
            rest = r;
            Some(PasswordAlgorithm {
                algorithm,
                params: self.0.slice_ref(params),
            })
        })
    }
    /// Whether the list offers `algorithm`.
    pub fn contains(&self, algorithm: u16) -> bool {
        self.iter().any(|a| a.algorithm == algorithm)
    }
}
