//! Reading the top-level string columns of one wide JSON line without
//! parsing the rest. A mix row carries ~50 messages in a `raw_summary`
//! column next to the half-dozen short strings the mix needs; a full
//! simd-json tape of it costs a quarter of the mix's time. The [`Scanner`]
//! checks the whole line as strictly (UTF-8, then the JSON grammar of RFC
//! 8259), unescapes top-level strings in place in the line buffer, and steps
//! over every other value without building anything, remembering only where
//! each top-level member is. The result, [`TopLevel`], answers the same
//! questions as [`ParsedLine`](super::fields::ParsedLine).

mod grammar;
#[cfg(test)]
mod tests;

pub use grammar::MAX_DEPTH;

use grammar::{skip_value, skip_ws, unescape_string, Fault, Problem, Span};

use super::fields::FieldValue;
use crate::error::{Location, RecordError};

/// A reusable scanner: keeps the member list's memory between lines.
#[derive(Debug, Default)]
pub struct Scanner {
    members: Vec<Member>,
}

/// One top-level member: where its (unescaped) key is, its value, and
/// where the value's JSON text was before unescaping.
#[derive(Debug, Clone, Copy)]
struct Member {
    key: Span,
    value: Slot,
    extent: Span,
}

/// A top-level value, by place in the line.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A string, unescaped in place.
    Str(Span),
    /// `null`.
    Null,
    /// A number's text.
    Number(Span),
    /// Any other type (its name).
    Other(FieldValue<'static>),
}

/// The top-level members of a scanned line: strings borrow the line buffer
/// (`'a`), the member list borrows the [`Scanner`] (`'s`).
#[derive(Debug, Clone, Copy)]
pub struct TopLevel<'s, 'a> {
    line: &'a [u8],
    members: &'s [Member],
}

impl Scanner {
    /// Check `line`, which must hold exactly one JSON object, and find its
    /// top-level members; top-level strings are unescaped in place. `at`
    /// names the place for errors.
    pub fn scan<'s, 'a>(
        &'s mut self,
        line: &'a mut [u8],
        at: impl FnOnce() -> Location,
    ) -> Result<TopLevel<'s, 'a>, RecordError> {
        if simdutf8::basic::from_utf8(line).is_err() {
            let offset = simdutf8::compat::from_utf8(line)
                .err()
                .map_or(0, |e| e.valid_up_to());
            return Err(RecordError::InvalidUtf8 { at: at(), offset });
        }
        self.members.clear();
        if let Err(fault) = read_object(line, &mut self.members) {
            return Err(RecordError::Malformed {
                at: at(),
                reason: fault.to_string(),
            });
        }
        Ok(TopLevel {
            line,
            members: &self.members,
        })
    }
}

/// The members of the object that must make up all of `line`.
fn read_object(line: &mut [u8], members: &mut Vec<Member>) -> Result<(), Fault> {
    let mut pos = skip_ws(line, 0);
    if line.get(pos) != Some(&b'{') {
        return Err(Fault::new(line, Problem::NotAnObject, pos));
    }
    pos = skip_ws(line, pos + 1);
    if line.get(pos) != Some(&b'}') {
        loop {
            if line.get(pos) != Some(&b'"') {
                return Err(Fault::new(line, Problem::ExpectedKey, pos));
            }
            let (key, after_key) = unescape_string(line, pos)?;
            let colon = skip_ws(line, after_key);
            if line.get(colon) != Some(&b':') {
                return Err(Fault::new(line, Problem::ExpectedColon, colon));
            }
            let start = skip_ws(line, colon + 1);
            let (value, after_value) = read_value(line, start)?;
            members.push(Member {
                key,
                value,
                extent: Span {
                    start,
                    end: after_value,
                },
            });
            pos = skip_ws(line, after_value);
            match line.get(pos) {
                Some(b',') => pos = skip_ws(line, pos + 1),
                Some(b'}') => break,
                _ => return Err(Fault::new(line, Problem::ExpectedCommaOrBrace, pos)),
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
fn read_value(line: &mut [u8], pos: usize) -> Result<(Slot, usize), Fault> {
    if line.get(pos) == Some(&b'"') {
        let (text, end) = unescape_string(line, pos)?;
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

impl<'a> TopLevel<'_, 'a> {
    /// The value of top-level key `name` (its first occurrence).
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
            Slot::Number(span) => unsigned_integer(self.text(span)),
            _ => None,
        })
    }

    /// Where the JSON text of top-level key `name`'s value (its first
    /// occurrence) lay in the line as it was read, before strings were
    /// unescaped in place: those bytes of the file are the value verbatim.
    pub fn extent(&self, name: &str) -> Option<std::ops::Range<usize>> {
        self.find(name).map(|m| m.extent.start..m.extent.end)
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
        let line = self.line;
        self.members
            .iter()
            .find(|m| &line[m.key.start..m.key.end] == name.as_bytes())
    }

    fn value(&self, slot: Slot) -> FieldValue<'a> {
        match slot {
            Slot::Str(span) => FieldValue::Str(self.text(span)),
            Slot::Null => FieldValue::Null,
            Slot::Number(_) => FieldValue::NUMBER,
            Slot::Other(other) => other,
        }
    }

    /// The text at `span`. Unescaping keeps UTF-8 valid (the line was, and
    /// escapes are cut at ASCII bytes and decode to whole characters), so
    /// the check here only re-confirms it, without `unsafe`.
    fn text(&self, span: Span) -> &'a str {
        let line: &'a [u8] = self.line;
        simdutf8::basic::from_utf8(&line[span.start..span.end])
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
