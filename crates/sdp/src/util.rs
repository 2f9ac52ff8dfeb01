//! Small scanners shared by the line and attribute parsers (no allocation, no regex).

/// Is `s` a non-empty run of ASCII digits?
#[inline]
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a run of ASCII digits (no sign, no spaces) into a `u64`, refusing overflow.
#[inline]
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b.len() <= 19 {
        // 19 digits cannot overflow a u64: no checked arithmetic on the common path.
        let mut v: u64 = 0;
        let mut ok = true;
        for &c in b {
            let d = c.wrapping_sub(b'0');
            ok &= d < 10;
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        return ok.then_some(v);
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

#[inline]
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}

#[inline]
pub(crate) fn parse_u16(s: &str) -> Option<u16> {
    parse_u64(s).and_then(|v| u16::try_from(v).ok())
}

/// An RFC 8866 `non-zero-int-or-real` / decimal: digits with at most one `.`.
pub(crate) fn parse_decimal(s: &str) -> Option<f64> {
    let mut dots = 0;
    let mut digits = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return None,
        }
    }
    if digits == 0 || dots > 1 || s.starts_with('.') || s.ends_with('.') {
        return None;
    }
    s.parse().ok()
}

/// RFC 8866 §9 `token-char`, as a table (this check runs on most bytes of a description).
// Indexing in a const initializer cannot panic at run time: out of range fails the build.
#[allow(clippy::indexing_slicing)]
static TOKEN_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = matches!(i as u8, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39 | 0x41..=0x5A | 0x5E..=0x7E);
        i += 1;
    }
    t
};

/// RFC 8866 §9 `token-char`.
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    // A u8 always indexes a 256-entry table: the compiler drops the check.
    TOKEN_CHARS.get(usize::from(b)).copied().unwrap_or(false)
}

/// Position of the first `b` in `s` (lines are short: a plain loop beats a searcher).
#[inline]
pub(crate) fn find_byte(s: &str, b: u8) -> Option<usize> {
    s.as_bytes().iter().position(|&c| c == b)
}

/// Splits at the first `b`, excluding it.
#[inline]
pub(crate) fn split_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, b)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Is `s` one or more tokens separated by single spaces?
#[inline]
pub(crate) fn is_token_list(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if first == b' ' || last == b' ' {
        return false;
    }
    let mut prev_space = false;
    for &c in b {
        if c == b' ' {
            if prev_space {
                return false;
            }
            prev_space = true;
        } else if is_token_char(c) {
            prev_space = false;
        } else {
            return false;
        }
    }
    true
}

/// RFC 8866 §9 `token`: one or more token characters.
#[inline]
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// A non-empty string without spaces or control characters (`non-ws-string`).
#[inline]
pub(crate) fn is_non_ws(s: &str) -> bool {
    // `fold` rather than `all`: no early exit, so the loop vectorizes.
    !s.is_empty() && s.bytes().fold(true, |ok, b| ok & (b > 0x20) & (b != 0x7F))
}

/// Splits at the first space: `("a", Some("b c"))` for `"a b c"`.
#[inline]
pub(crate) fn split_sp(s: &str) -> (&str, Option<&str>) {
    match split_at_byte(s, b' ') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}
