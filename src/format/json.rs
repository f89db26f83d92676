//! JSON string escaping, byte-exact to the two encoders step 04 goes
//! through: Python's `json.dumps(ensure_ascii=True)` (the `metadata` string)
//! and pandas' `to_json` (every written line: `\/`, `\uXXXX`), and the
//! one-pass composition of the two. The scan for bytes that need escaping
//! runs 16 bytes at a time (SSE2) where the target has it.

/// How a JSON string is escaped when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// Python `json.dumps(ensure_ascii=True)`: only space..`~` kept, except
    /// `"` and `\`; DEL (0x7f) is escaped.
    PythonAscii,
    /// pandas `to_json` (ujson): like Python, but `/` is written `\/` and
    /// DEL is kept.
    Pandas,
    /// Python's escaping, then pandas' escaping of the result: how a string
    /// inside the `metadata` string comes out in a written record (`é` is
    /// `\\u00e9`, `"` is `\\\"`), in one pass.
    PythonInPandas,
}

impl JsonStyle {
    /// The ASCII bytes besides `"`, `\` and control bytes that are not
    /// written as themselves.
    fn styled(self) -> [u8; 2] {
        match self {
            JsonStyle::PythonAscii => [0x7f, 0x7f],
            JsonStyle::Pandas => [b'/', b'/'],
            JsonStyle::PythonInPandas => [b'/', 0x7f],
        }
    }
}

/// Append `s` as a JSON string literal (with quotes) to `out`, Python style.
pub fn push_python_json_string(out: &mut Vec<u8>, s: &str) {
    push_json_string(out, s, JsonStyle::PythonAscii);
}

/// Append `s` as a JSON string literal (with quotes) in the given style.
pub fn push_json_string(out: &mut Vec<u8>, s: &str, style: JsonStyle) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    push_json_text(out, s, style);
    out.push(b'"');
}

/// Append `s` escaped in the given style, without quotes. Runs of plain
/// ASCII are found 16 bytes at a time ([`plain_run_end`]) and copied whole;
/// each other char is escaped on its own.
pub(super) fn push_json_text(out: &mut Vec<u8>, s: &str, style: JsonStyle) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let end = plain_run_end(bytes, i, style);
        out.extend_from_slice(&bytes[i..end]);
        let Some(&b) = bytes.get(end) else { break };
        let len = utf8_len(b);
        let ch = s[end..end + len].chars().next().expect("char boundary");
        match style {
            JsonStyle::PythonInPandas => push_nested_escape(out, ch),
            _ => push_escape(out, ch),
        }
        i = end + len;
    }
}

/// The first position at or after `from` whose byte is not written as
/// itself (`bytes.len()` when none): SSE2 compares 16 bytes at a time
/// where the target has it (every x86-64 does), else words of 8 (SWAR).
fn plain_run_end(bytes: &[u8], mut from: usize, style: JsonStyle) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        from = sse2::plain_run_end(bytes, from, style);
    }
    while let Some(word) = bytes.get(from..from + 8) {
        if !word_is_plain(u64::from_le_bytes(word.try_into().expect("8 bytes")), style) {
            break;
        }
        from += 8;
    }
    while let Some(&b) = bytes.get(from) {
        if !is_plain_ascii(b, style) {
            break;
        }
        from += 1;
    }
    from
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::JsonStyle;
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// Like [`super::plain_run_end`], 16 bytes at a time; stops at the
    /// first block holding a special byte (or too short a tail), leaving
    /// the rest to the scalar steps.
    pub fn plain_run_end(bytes: &[u8], mut from: usize, style: JsonStyle) -> usize {
        let [styled, also] = style.styled();
        while from + 16 <= bytes.len() {
            // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes
            // at `from`, which are in bounds (checked above).
            let mask = unsafe {
                let block = _mm_loadu_si128(bytes.as_ptr().add(from).cast::<__m128i>());
                let eq = |b: u8| _mm_cmpeq_epi8(block, _mm_set1_epi8(b as i8));
                // Signed: bytes 0x80..=0xff are negative, so this one
                // compare finds both control bytes and non-ASCII ones.
                let low = _mm_cmplt_epi8(block, _mm_set1_epi8(0x20));
                let quote_or_slash = _mm_or_si128(eq(b'"'), eq(b'\\'));
                let styled = _mm_or_si128(eq(styled), eq(also));
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(low, quote_or_slash), styled))
            };
            if mask != 0 {
                return from + mask.trailing_zeros() as usize;
            }
            from += 16;
        }
        from
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `word` equals `byte` (exact; bit tricks from
/// "Bit Twiddling Hacks", `haszero(v ^ n)`).
#[inline]
fn has_byte(word: u64, byte: u8) -> bool {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

/// Whether all eight bytes of `word` are written as themselves.
#[inline]
fn word_is_plain(word: u64, style: JsonStyle) -> bool {
    // Any non-ASCII byte, or any byte below 0x20 (exact once all are ASCII).
    if word & HIGHS != 0 || word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0 {
        return false;
    }
    let [styled, also] = style.styled();
    !(has_byte(word, b'"')
        || has_byte(word, b'\\')
        || has_byte(word, styled)
        || has_byte(word, also))
}

fn is_plain_ascii(b: u8, style: JsonStyle) -> bool {
    match b {
        b'"' | b'\\' => false,
        0x20..=0x7f => !style.styled().contains(&b),
        _ => false,
    }
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_escape(out: &mut Vec<u8>, ch: char) {
    match ch {
        '"' => out.extend_from_slice(b"\\\""),
        '\\' => out.extend_from_slice(b"\\\\"),
        '/' => out.extend_from_slice(b"\\/"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\x08' => out.extend_from_slice(b"\\b"),
        '\x0c' => out.extend_from_slice(b"\\f"),
        _ => {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                push_u_escape(out, *unit);
            }
        }
    }
}

/// [`push_escape`] under [`JsonStyle::PythonInPandas`]: Python's escape of
/// `ch` (for every char but `/`, the escape [`push_escape`] writes), escaped
/// again as pandas writes it: its `\` and `"` behind a backslash. `/`,
/// which Python keeps, is pandas' `\/`.
fn push_nested_escape(out: &mut Vec<u8>, ch: char) {
    if ch == '/' {
        out.extend_from_slice(br"\/");
        return;
    }
    let start = out.len();
    push_escape(out, ch);
    // At most two `\uXXXX` units.
    let mut once = [0u8; 12];
    let len = out.len() - start;
    once[..len].copy_from_slice(&out[start..]);
    out.truncate(start);
    for &b in &once[..len] {
        if b == b'\\' || b == b'"' {
            out.push(b'\\');
        }
        out.push(b);
    }
}

fn push_u_escape(out: &mut Vec<u8>, unit: u16) {
    let hex = |shift: u16| HEX[usize::from((unit >> shift) & 0xf)];
    out.extend_from_slice(&[b'\\', b'u', hex(12), hex(8), hex(4), hex(0)]);
}
