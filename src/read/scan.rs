//! Reading the top-level string columns of one wide JSON line without
//! parsing the rest. A mix row carries ~50 messages in a `raw_summary`
//! column next to the half-dozen short strings the mix needs; a full
//! simd-json tape of it costs a quarter of the mix's time. The [`Scanner`]
//! checks the whole line as strictly (UTF-8, then the JSON grammar of RFC
//! 8259) and steps over every value without building anything, remembering
//! only where each top-level member is. The line is only read, never
//! written (a rejected row is kept as it was read): a top-level string without
//! escapes is used where it lies, one with escapes is decoded into the
//! scanner's scratch buffer. The result, [`TopLevel`], answers the same
//! questions as [`ParsedLine`](super::fields::ParsedLine).

mod grammar;
#[cfg(test)]
mod tests;

pub use grammar::MAX_DEPTH;

use grammar::{read_string, skip_value, skip_ws, Fault, Line, Problem, Span, Text};

use super::fields::FieldValue;
use crate::error::{Location, RecordError};

/// The largest scratch buffer kept from one line to the next.
const MAX_KEPT_SCRATCH: usize = 16 << 20;

/// A reusable scanner: keeps the member list's and the unescaped text's
/// memory between lines.
#[derive(Debug, Default)]
pub struct Scanner {
    members: Vec<Member>,
    scratch: Vec<u8>,
    /// The line's bitmap of special bytes ([`Line`]).
    specials: Vec<u64>,
}

/// One top-level member: where its (unescaped) key is, its value, and
/// where the value's JSON text is in the line.
#[derive(Debug, Clone, Copy)]
struct Member {
    key: Text,
    value: Slot,
    extent: Span,
    /// From the key's opening quote to the next key (after the comma), or
    /// to the closing brace for the last member: what dropping it removes.
    whole: Span,
}

/// A top-level value, by place in the line.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A string's (unescaped) text.
    Str(Text),
    /// `null`.
    Null,
    /// A number's text.
    Number(Span),
    /// Any other type (its name).
    Other(FieldValue<'static>),
}

/// The top-level members of a scanned line: strings borrow the line or the
/// [`Scanner`]'s scratch buffer, the member list borrows the scanner.
#[derive(Debug, Clone, Copy)]
pub struct TopLevel<'a> {
    line: &'a [u8],
    scratch: &'a [u8],
    members: &'a [Member],
}

impl Scanner {
    /// Check `line`, which must hold exactly one JSON object, and find its
    /// top-level members. `at` names the place for errors.
    pub fn scan<'a>(
        &'a mut self,
        line: &'a [u8],
        at: impl FnOnce() -> Location,
    ) -> Result<TopLevel<'a>, RecordError> {
        if simdutf8::basic::from_utf8(line).is_err() {
            let offset = simdutf8::compat::from_utf8(line)
                .err()
                .map_or(0, |e| e.valid_up_to());
            return Err(RecordError::InvalidUtf8 { at: at(), offset });
        }
        self.members.clear();
        self.scratch.clear();
        // An outsized line's unescaped text and bitmap are not kept for the
        // next one.
        if self.scratch.capacity() > MAX_KEPT_SCRATCH {
            self.scratch = Vec::new();
        }
        if self.specials.capacity() > MAX_KEPT_SCRATCH / 8 {
            self.specials = Vec::new();
        }
        let marked = Line::new(line, &mut self.specials);
        if let Err(fault) = read_object(&marked, &mut self.members, &mut self.scratch) {
            return Err(RecordError::Malformed {
                at: at(),
                reason: fault.to_string(),
            });
        }
        Ok(TopLevel {
            line,
            scratch: &self.scratch,
            members: &self.members,
        })
    }
}

/// The members of the object that must make up all of `line`.
fn read_object(
    line: &Line<'_>,
    members: &mut Vec<Member>,
    scratch: &mut Vec<u8>,
) -> Result<(), Fault> {
    let mut pos = skip_ws(line, 0);
    if line.starts_with(b"\xEF\xBB\xBF") {
        return Err(Fault::new(line, Problem::ByteOrderMark, 0));
    }
    if line.get(pos) != Some(&b'{') {
        return Err(Fault::new(line, Problem::NotAnObject, pos));
    }
    pos = skip_ws(line, pos + 1);
    if line.get(pos) != Some(&b'}') {
        loop {
            if line.get(pos) != Some(&b'"') {
                return Err(Fault::new(line, Problem::ExpectedKey, pos));
            }
            let key_start = pos;
            let (key, after_key) = read_string(line, pos, scratch)?;
            let colon = skip_ws(line, after_key);
            if line.get(colon) != Some(&b':') {
                return Err(Fault::new(line, Problem::ExpectedColon, colon));
            }
            let start = skip_ws(line, colon + 1);
            let (value, after_value) = read_value(line, start, scratch)?;
            pos = skip_ws(line, after_value);
            let last = match line.get(pos) {
                Some(b',') => {
                    pos = skip_ws(line, pos + 1);
                    false
                }
                Some(b'}') => true,
                _ => return Err(Fault::new(line, Problem::ExpectedCommaOrBrace, pos)),
            };
            members.push(Member {
                key,
                value,
                extent: Span {
                    start,
                    end: after_value,
                },
                whole: Span {
                    start: key_start,
                    end: pos,
                },
            });
            if last {
                break;
            }
        }
    }
    let end = skip_ws(line, pos + 1);
    if end != line.len() {
        return Err(Fault::new(line, Problem::TrailingCharacters, end));
    }
    Ok(())
}

/// The top-level value starting at `pos`, and the position after it.
fn read_value(line: &Line<'_>, pos: usize, scratch: &mut Vec<u8>) -> Result<(Slot, usize), Fault> {
    if line.get(pos) == Some(&b'"') {
        let (text, end) = read_string(line, pos, scratch)?;
        return Ok((Slot::Str(text), end));
    }
    let end = skip_value(line, pos)?;
    let slot = match line[pos] {
        b'n' => Slot::Null,
        b't' | b'f' => Slot::Other(FieldValue::BOOLEAN),
        b'[' => Slot::Other(FieldValue::LIST),
        b'{' => Slot::Other(FieldValue::OBJECT),
        _ => Slot::Number(Span { start: pos, end }),
    };
    Ok((slot, end))
}

impl<'a> TopLevel<'a> {
    /// The value of top-level key `name` (its last occurrence, as Python's
    /// `json` reads duplicate keys).
    pub fn get(&self, name: &str) -> FieldValue<'a> {
        self.find(name)
            .map_or(FieldValue::Missing, |m| self.value(m.value))
    }

    /// Top-level key `name` as an unsigned integer: `Ok(None)` when absent
    /// or null, `Err(type name)` when it is anything else.
    pub fn get_u64(&self, name: &str) -> Result<Option<u64>, &'static str> {
        let member = self.find(name);
        let value = member.map_or(FieldValue::Missing, |m| self.value(m.value));
        value.unsigned(|| match member?.value {
            Slot::Number(span) => unsigned_integer(self.text(Text::Line(span))),
            _ => None,
        })
    }

    /// Where the JSON text of top-level key `name`'s value (its last
    /// occurrence) lies in the line: those bytes of the file are the value
    /// verbatim.
    pub fn extent(&self, name: &str) -> Option<std::ops::Range<usize>> {
        self.find(name).map(|m| m.extent.start..m.extent.end)
    }

    /// Write the line to `out` with top-level key `name` set to `value` (JSON
    /// text): the last occurrence's value is replaced in place and earlier
    /// ones are dropped (Python keeps the last, and a key is never written
    /// twice); when absent, `"name":value` is added before the closing
    /// brace. Every other byte is kept.
    pub fn write_with(&self, name: &str, value: &[u8], out: &mut Vec<u8>) {
        let named = |m: &&Member| self.bytes(m.key) == name.as_bytes();
        let Some(last) = self.members.iter().rev().find(named) else {
            let close = self
                .line
                .iter()
                .rposition(|&b| b == b'}')
                .expect("a scanned object ends with }");
            out.extend_from_slice(&self.line[..close]);
            if !self.members.is_empty() {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(value);
            out.extend_from_slice(&self.line[close..]);
            return;
        };
        let mut pos = 0;
        for m in self.members.iter().filter(named) {
            if std::ptr::eq(m, last) {
                break;
            }
            out.extend_from_slice(&self.line[pos..m.whole.start]);
            pos = m.whole.end;
        }
        out.extend_from_slice(&self.line[pos..last.extent.start]);
        out.extend_from_slice(value);
        out.extend_from_slice(&self.line[last.extent.end..]);
    }

    /// Every top-level key, in file order (for error messages).
    pub fn keys(&self) -> Vec<String> {
        self.members().map(|(key, _)| key.to_owned()).collect()
    }

    /// Every top-level member in file order, duplicates included.
    pub fn members(&self) -> impl Iterator<Item = (&'a str, FieldValue<'a>)> + '_ {
        self.members
            .iter()
            .map(|m| (self.text(m.key), self.value(m.value)))
    }

    /// The string value of a required field, or a typed error.
    pub fn required_str(
        &self,
        name: &str,
        at: impl Fn() -> Location,
    ) -> Result<&'a str, RecordError> {
        self.get(name).required_str(name, at, || self.keys())
    }

    fn find(&self, name: &str) -> Option<&Member> {
        self.members
            .iter()
            .rev()
            .find(|m| self.bytes(m.key) == name.as_bytes())
    }

    fn value(&self, slot: Slot) -> FieldValue<'a> {
        match slot {
            Slot::Str(span) => FieldValue::Str(self.text(span)),
            Slot::Null => FieldValue::Null,
            Slot::Number(_) => FieldValue::NUMBER,
            Slot::Other(other) => other,
        }
    }

    /// The bytes of `text`, in the line or the scratch buffer.
    fn bytes(&self, text: Text) -> &'a [u8] {
        match text {
            Text::Line(span) => &self.line[span.start..span.end],
            Text::Scratch(span) => &self.scratch[span.start..span.end],
        }
    }

    /// The string at `text`. The line is valid UTF-8 and escapes decode
    /// to whole characters, so the check here only re-confirms it, without
    /// `unsafe`.
    fn text(&self, text: Text) -> &'a str {
        simdutf8::basic::from_utf8(self.bytes(text))
            .expect("unescaped text of a valid UTF-8 line is UTF-8")
    }
}

/// A number's text as `u64`, as simd-json reads it: an integer in range,
/// `-0` included; fractions, exponents and negatives are not.
fn unsigned_integer(text: &str) -> Option<u64> {
    match text.strip_prefix('-') {
        Some("0") => Some(0),
        Some(_) => None,
        None => text.parse().ok(),
    }
}
