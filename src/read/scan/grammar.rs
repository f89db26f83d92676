//! The JSON grammar (RFC 8259) over a line's bytes, for [`super`]: stepping
//! over a whole value without building anything (its nesting tracked in a
//! fixed bit stack), and reading a string (unescaped into a scratch buffer
//! only when it holds escapes; the line is never written). String bodies, the
//! bulk of a wide row, end at the only bytes that matter there (`"`, `\` and
//! control characters), found in a bitmap of them built once per line
//! ([`Line`]).

use std::fmt;

/// How deep containers may nest, counting the line's own object.
pub const MAX_DEPTH: usize = 1024;

/// What is wrong with a line that is not JSON (in words: `describe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    NotAnObject,
    ExpectedKey,
    ExpectedColon,
    ExpectedValue,
    ExpectedCommaOrBrace,
    ExpectedCommaOrBracket,
    TrailingCharacters,
    TooDeep,
    InvalidLiteral,
    LeadingZero,
    ExpectedDigit,
    ExpectedFractionDigit,
    ExpectedExponentDigit,
    UnterminatedString,
    ControlCharacter,
    InvalidEscape,
    InvalidUnicodeEscape,
    UnpairedSurrogate,
    ByteOrderMark,
    NotANumber,
}

impl Problem {
    fn describe(self) -> &'static str {
        match self {
            Problem::NotAnObject => "each line must be a JSON object: expected '{'",
            Problem::ExpectedKey => "expected a string key",
            Problem::ExpectedColon => "expected ':'",
            Problem::ExpectedValue => "expected a value",
            Problem::ExpectedCommaOrBrace => "expected ',' or '}'",
            Problem::ExpectedCommaOrBracket => "expected ',' or ']'",
            Problem::TrailingCharacters => "trailing characters after the object",
            Problem::TooDeep => "containers nested too deep",
            Problem::InvalidLiteral => "invalid literal",
            Problem::LeadingZero => "leading zero in number",
            Problem::ExpectedDigit => "expected a digit",
            Problem::ExpectedFractionDigit => "expected a digit after '.'",
            Problem::ExpectedExponentDigit => "expected a digit in the exponent",
            Problem::UnterminatedString => "unterminated string",
            Problem::ControlCharacter => "control character in string",
            Problem::InvalidEscape => "invalid escape",
            Problem::InvalidUnicodeEscape => "invalid \\u escape",
            Problem::UnpairedSurrogate => "unpaired surrogate in \\u escape",
            Problem::ByteOrderMark => {
                "the line starts with a UTF-8 byte-order mark (BOM); save the file as UTF-8 without one"
            }
            Problem::NotANumber => "NaN and Infinity are not JSON; write null or a number",
        }
    }
}

/// Where and why a line is not JSON. Displays as `what at byte N`. Eight
/// bytes, so that a `Result<usize, Fault>` comes back in registers: the
/// skipping functions return one per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    problem: Problem,
    at_end: bool,
    /// The byte offset (lines are at most 1 GiB; larger saturate).
    at: u32,
}

impl Fault {
    /// `problem` at byte `at` of `line`.
    pub fn new(line: &[u8], problem: Problem, at: usize) -> Self {
        Fault {
            problem,
            at_end: at >= line.len(),
            at: u32::try_from(at).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.problem.describe(), self.at)?;
        if self.at_end {
            f.write_str(" (the end of the line)")?;
        }
        Ok(())
    }
}

/// A byte range of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// The position of the first byte at or after `pos` that is not JSON
/// whitespace.
pub fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// Step over the value starting at `pos` (whitespace already skipped),
/// checking all of it; returns the position just after it.
pub fn skip_value(bytes: &Line<'_>, mut pos: usize) -> Result<usize, Fault> {
    let mut open = Nesting::default();
    loop {
        pos = match bytes.get(pos) {
            Some(b'{') => {
                open.push(Container::Object, bytes, pos)?;
                let inner = skip_ws(bytes, pos + 1);
                if bytes.get(inner) != Some(&b'}') {
                    pos = member_key(bytes, inner)?;
                    continue;
                }
                open.pop();
                inner + 1
            }
            Some(b'[') => {
                open.push(Container::Array, bytes, pos)?;
                let inner = skip_ws(bytes, pos + 1);
                if bytes.get(inner) != Some(&b']') {
                    pos = inner;
                    continue;
                }
                open.pop();
                inner + 1
            }
            Some(b'"') => skip_string(bytes, pos)?,
            Some(b't') => literal(bytes, pos, b"true")?,
            Some(b'f') => literal(bytes, pos, b"false")?,
            Some(b'n') => literal(bytes, pos, b"null")?,
            Some(b'-' | b'0'..=b'9') => number(bytes, pos)?,
            Some(b'N' | b'I') => return Err(Fault::new(bytes, Problem::NotANumber, pos)),
            _ => return Err(Fault::new(bytes, Problem::ExpectedValue, pos)),
        };
        match after_value(bytes, pos, &mut open)? {
            Step::Next(value) => pos = value,
            Step::Done(end) => return Ok(end),
        }
    }
}

/// What follows a complete value inside [`skip_value`].
enum Step {
    /// Another value starts here.
    Next(usize),
    /// The outermost value ended here.
    Done(usize),
}

/// After a value ending at `pos`: close the containers that end there, and
/// find where the next element's value starts. (This, `member_key` and
/// `skip_string` run for every skipped string; inlined, the scan measured
/// a few percent faster.)
#[inline(always)]
fn after_value(bytes: &Line<'_>, mut pos: usize, open: &mut Nesting) -> Result<Step, Fault> {
    loop {
        let Some(container) = open.innermost() else {
            return Ok(Step::Done(pos));
        };
        pos = skip_ws(bytes, pos);
        match (bytes.get(pos), container) {
            (Some(b','), Container::Array) => return Ok(Step::Next(skip_ws(bytes, pos + 1))),
            (Some(b','), Container::Object) => {
                return Ok(Step::Next(member_key(bytes, skip_ws(bytes, pos + 1))?))
            }
            (Some(b']'), Container::Array) | (Some(b'}'), Container::Object) => {
                open.pop();
                pos += 1;
            }
            (_, Container::Array) => {
                return Err(Fault::new(bytes, Problem::ExpectedCommaOrBracket, pos))
            }
            (_, Container::Object) => {
                return Err(Fault::new(bytes, Problem::ExpectedCommaOrBrace, pos))
            }
        }
    }
}

/// Step over `"key" :` at `pos`; returns where the member's value starts.
#[inline(always)]
fn member_key(bytes: &Line<'_>, pos: usize) -> Result<usize, Fault> {
    if bytes.get(pos) != Some(&b'"') {
        return Err(Fault::new(bytes, Problem::ExpectedKey, pos));
    }
    let colon = skip_ws(bytes, skip_string(bytes, pos)?);
    if bytes.get(colon) != Some(&b':') {
        return Err(Fault::new(bytes, Problem::ExpectedColon, colon));
    }
    Ok(skip_ws(bytes, colon + 1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Array,
    Object,
}

/// The open containers of a value being skipped, one bit each (set for an
/// object), so nesting costs no allocation.
struct Nesting {
    depth: usize,
    objects: [u64; MAX_DEPTH / 64],
}

impl Default for Nesting {
    fn default() -> Self {
        Nesting {
            depth: 0,
            objects: [0; MAX_DEPTH / 64],
        }
    }
}

impl Nesting {
    fn push(&mut self, container: Container, bytes: &[u8], at: usize) -> Result<(), Fault> {
        // The line's own object is one level.
        if self.depth + 1 >= MAX_DEPTH {
            return Err(Fault::new(bytes, Problem::TooDeep, at));
        }
        let (word, bit) = (self.depth / 64, self.depth % 64);
        let mask = 1u64 << bit;
        match container {
            Container::Object => self.objects[word] |= mask,
            Container::Array => self.objects[word] &= !mask,
        }
        self.depth += 1;
        Ok(())
    }

    fn pop(&mut self) {
        self.depth -= 1;
    }

    fn innermost(&self) -> Option<Container> {
        let top = self.depth.checked_sub(1)?;
        Some(if self.objects[top / 64] >> (top % 64) & 1 == 1 {
            Container::Object
        } else {
            Container::Array
        })
    }
}

fn literal(bytes: &[u8], pos: usize, word: &[u8]) -> Result<usize, Fault> {
    if bytes.get(pos..pos + word.len()) == Some(word) {
        Ok(pos + word.len())
    } else {
        Err(Fault::new(bytes, Problem::InvalidLiteral, pos))
    }
}

/// Step over a number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub fn number(bytes: &[u8], start: usize) -> Result<usize, Fault> {
    let digits = |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut pos = start + usize::from(bytes.get(start) == Some(&b'-'));
    pos = match bytes.get(pos) {
        Some(b'0') if bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) => {
            return Err(Fault::new(bytes, Problem::LeadingZero, pos))
        }
        Some(b'0') => pos + 1,
        Some(b'1'..=b'9') => digits(pos),
        _ => return Err(Fault::new(bytes, Problem::ExpectedDigit, pos)),
    };
    if bytes.get(pos) == Some(&b'.') {
        let end = digits(pos + 1);
        if end == pos + 1 {
            return Err(Fault::new(bytes, Problem::ExpectedFractionDigit, end));
        }
        pos = end;
    }
    if let Some(b'e' | b'E') = bytes.get(pos) {
        pos += 1;
        if let Some(b'+' | b'-') = bytes.get(pos) {
            pos += 1;
        }
        let end = digits(pos);
        if end == pos {
            return Err(Fault::new(bytes, Problem::ExpectedExponentDigit, pos));
        }
        pos = end;
    }
    Ok(pos)
}

/// Step over the string whose opening quote is at `open`, checking its
/// escapes; returns the position after the closing quote.
#[inline(always)]
pub fn skip_string(bytes: &Line<'_>, open: usize) -> Result<usize, Fault> {
    let mut pos = open + 1;
    loop {
        pos = find_special(bytes, pos);
        match bytes.get(pos) {
            Some(b'"') => return Ok(pos + 1),
            Some(b'\\') => pos += escape(bytes, pos)?.1 as usize,
            Some(_) => return Err(Fault::new(bytes, Problem::ControlCharacter, pos)),
            None => return Err(Fault::new(bytes, Problem::UnterminatedString, open)),
        }
    }
}

/// Where a string's text is: verbatim in the line (no escapes), or
/// unescaped into the scratch buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// A range of the line.
    Line(Span),
    /// A range of the scratch buffer.
    Scratch(Span),
}

/// Read the string whose opening quote is at `open`. Text without escapes
/// stays where it is in the line (no copy); text with escapes is decoded
/// onto the end of `scratch`. Returns where the text is and the position
/// after the closing quote. The line itself is never written.
pub fn read_string(
    bytes: &Line<'_>,
    open: usize,
    scratch: &mut Vec<u8>,
) -> Result<(Text, usize), Fault> {
    let start = open + 1;
    let special = find_special(bytes, start);
    match bytes.get(special) {
        Some(b'"') => Ok((
            Text::Line(Span {
                start,
                end: special,
            }),
            special + 1,
        )),
        Some(b'\\') => decode_string(bytes, open, special, scratch),
        Some(_) => Err(Fault::new(bytes, Problem::ControlCharacter, special)),
        None => Err(Fault::new(bytes, Problem::UnterminatedString, open)),
    }
}

/// The rest of [`read_string`] once an escape is found at `special`: the
/// text so far and everything after it go to `scratch`, escapes decoded.
fn decode_string(
    bytes: &Line<'_>,
    open: usize,
    mut special: usize,
    scratch: &mut Vec<u8>,
) -> Result<(Text, usize), Fault> {
    let start = scratch.len();
    let mut read = open + 1;
    loop {
        scratch.extend_from_slice(&bytes[read..special]);
        match bytes.get(special) {
            Some(b'"') => {
                let text = Text::Scratch(Span {
                    start,
                    end: scratch.len(),
                });
                return Ok((text, special + 1));
            }
            Some(b'\\') => {
                let (c, len) = escape(bytes, special)?;
                let mut utf8 = [0u8; 4];
                scratch.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                read = special + len as usize;
            }
            Some(_) => return Err(Fault::new(bytes, Problem::ControlCharacter, special)),
            None => return Err(Fault::new(bytes, Problem::UnterminatedString, open)),
        }
        special = find_special(bytes, read);
    }
}

/// Decode the escape whose backslash is at `pos`: the character, and the
/// escape's length (kept small, so that the result comes in registers).
fn escape(bytes: &[u8], pos: usize) -> Result<(char, u32), Fault> {
    let c = match bytes.get(pos + 1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(bytes, pos),
        _ => return Err(Fault::new(bytes, Problem::InvalidEscape, pos)),
    };
    Ok((c, 2))
}

/// Decode `\uXXXX` at `pos`, or a surrogate pair `\uD8XX\uDCXX`. A lone
/// surrogate is an error: it is no character, and `&str` cannot hold it.
fn unicode_escape(bytes: &[u8], pos: usize) -> Result<(char, u32), Fault> {
    let unpaired = || Fault::new(bytes, Problem::UnpairedSurrogate, pos);
    let unit = hex4(bytes, pos + 2)
        .ok_or_else(|| Fault::new(bytes, Problem::InvalidUnicodeEscape, pos))?;
    let (code, len) = match unit {
        0xD800..=0xDBFF => {
            let low = match bytes.get(pos + 6..pos + 8) {
                Some(b"\\u") => hex4(bytes, pos + 8),
                _ => None,
            };
            match low {
                Some(low @ 0xDC00..=0xDFFF) => {
                    (0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), 12)
                }
                _ => return Err(unpaired()),
            }
        }
        0xDC00..=0xDFFF => return Err(unpaired()),
        _ => (unit, 6),
    };
    char::from_u32(code).map(|c| (c, len)).ok_or_else(unpaired)
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)?
        .iter()
        .try_fold(0, |code, &b| Some(code << 4 | char::from(b).to_digit(16)?))
}

/// A line with a bitmap of its special bytes: bit `i % 64` of word `i / 64`
/// is set when byte `i` is `"`, `\` or a control byte, the only bytes that
/// matter inside a string. It is built once per line, 64 bytes a step, so
/// that finding the end of each string (a wide row holds hundreds) is a
/// look at a word or two instead of a search with a branch per word.
#[derive(Clone, Copy)]
pub struct Line<'a> {
    bytes: &'a [u8],
    specials: &'a [u64],
}

impl std::ops::Deref for Line<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

impl<'a> Line<'a> {
    /// `bytes` with its bitmap, built in `buffer`.
    pub fn new(bytes: &'a [u8], buffer: &'a mut Vec<u64>) -> Line<'a> {
        buffer.clear();
        let blocks = bytes.chunks_exact(64);
        let tail = blocks.remainder();
        buffer.extend(blocks.map(|b| special_bits(b.try_into().expect("64 bytes"))));
        if !tail.is_empty() {
            let mut block = [b'a'; 64];
            block[..tail.len()].copy_from_slice(tail);
            buffer.push(special_bits(&block));
        }
        Line {
            bytes,
            specials: buffer,
        }
    }
}

/// Whether `b` ends or interrupts a run of string text.
#[inline]
fn is_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The special bytes of a 64-byte block, one bit each.
#[inline]
fn special_bits(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::special_bits(block)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        special_bits_plain(block)
    }
}

/// [`special_bits`] a byte at a time (the reference; other targets).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) fn special_bits_plain(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &b)| bits | u64::from(is_special(b)) << i)
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// [`super::special_bits`] with SSE2 (part of every x86-64 CPU): per
    /// 16 bytes, two compares for `"` and `\`, one (after an unsigned max)
    /// for bytes up to 0x1f, and a `movemask`.
    #[inline]
    pub fn special_bits(block: &[u8; 64]) -> u64 {
        let mut bits = 0u64;
        for lane in 0..4 {
            // SAFETY: SSE2 is part of x86-64; the load reads 16 bytes inside
            // the 64-byte array.
            let mask = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * lane).cast::<__m128i>());
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                let low = _mm_set1_epi8(0x1f);
                let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
            };
            bits |= u64::from(mask as u16) << (16 * lane);
        }
        bits
    }
}

/// The position of the first `"`, `\` or control byte at or after `pos`,
/// or the line's length when there is none: a look at the bitmap.
#[inline]
pub fn find_special(line: &Line<'_>, pos: usize) -> usize {
    let mut at = pos / 64;
    let Some(&first) = line.specials.get(at) else {
        return line.bytes.len();
    };
    let mut word = first & (u64::MAX << (pos % 64));
    while word == 0 {
        at += 1;
        match line.specials.get(at) {
            Some(&next) => word = next,
            None => return line.bytes.len(),
        }
    }
    at * 64 + word.trailing_zeros() as usize
}
