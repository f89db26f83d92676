//! Working on finished records (step-04 lines, or anything shaped like
//! them) without re-encoding them: read a conversation out of a `messages`
//! list, read `metadata.dataset` (an object, or a JSON string holding one as
//! step 04 writes it), and set a top-level `token_length` by splicing bytes
//! into the original line, so every other byte of the record is kept. The
//! pipe commands (`tokens`, `stats`) are built on these pure functions.

use std::ops::Range;

use simd_json::prelude::*;
use simd_json::value::tape::Value;
use simd_json::ValueType;

use crate::error::{Location, RecordError};
use crate::format::Turn;
use crate::read::fields::{member, ParsedLine};

/// The conversation in list field `field` of a parsed record. `thinking`
/// that is absent or `null` becomes `None` (dropped before templating, as
/// `mix` does); a string, even empty, is kept.
pub fn conversation<'a>(
    line: &ParsedLine<'a>,
    field: &str,
    at: &dyn Fn() -> Location,
) -> Result<Vec<Turn<'a>>, RecordError> {
    let root = line.value();
    let wrong = |field: String, expected, found| RecordError::WrongType {
        at: at(),
        field,
        expected,
        found,
    };
    let Some(list) = member(root, field) else {
        return Err(RecordError::MissingColumns {
            at: at(),
            missing: vec![field.to_owned()],
            found: line.keys(),
            hint: "; name the list of messages with --field".to_owned(),
        });
    };
    let Some(items) = list.as_array() else {
        return Err(wrong(
            field.to_owned(),
            "a list of messages",
            type_name(&list),
        ));
    };
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let string = |key: &str| -> Result<Option<&'a str>, RecordError> {
            match member(item, key) {
                None => Ok(None),
                Some(v) if v.value_type() == ValueType::Null => Ok(None),
                Some(v) => v
                    .into_string()
                    .map(Some)
                    .ok_or_else(|| wrong(format!("{field}[{i}].{key}"), "a string", type_name(&v))),
            }
        };
        if item.as_object().is_none() {
            return Err(wrong(
                format!("{field}[{i}]"),
                "an object",
                type_name(&item),
            ));
        }
        let required = |key: &str| {
            string(key)?.ok_or_else(|| wrong(format!("{field}[{i}].{key}"), "a string", "nothing"))
        };
        turns.push(Turn {
            role: required("role")?,
            content: required("content")?,
            thinking: string("thinking")?,
        });
    }
    Ok(turns)
}

/// `metadata.dataset` of a parsed record: `metadata` may be an object or a
/// string holding a JSON object. `None` when absent or not a string.
pub fn metadata_dataset(line: &ParsedLine<'_>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Meta {
        dataset: Option<serde_json::Value>,
    }
    let metadata = member(line.value(), "metadata")?;
    if let Some(text) = metadata.as_str() {
        let meta: Meta = serde_json::from_str(text).ok()?;
        return meta.dataset?.as_str().map(str::to_owned);
    }
    member(metadata, "dataset")?.as_str().map(str::to_owned)
}

/// A top-level field of a parsed record, when it is a non-negative integer.
pub fn top_level_u64(line: &ParsedLine<'_>, key: &str) -> Option<u64> {
    member(line.value(), key)?.as_u64()
}

fn type_name(v: &Value<'_, '_>) -> &'static str {
    match v.value_type() {
        ValueType::String => "a string",
        ValueType::Null => "null",
        ValueType::Bool => "a boolean",
        ValueType::Array => "a list",
        ValueType::Object => "an object",
        _ => "a number",
    }
}

/// Append `line` to `out` with its top-level `token_length` set to `n`: the
/// old value's bytes are replaced in place when the key exists (an earlier
/// duplicate of it is dropped, so the key is written once), else
/// `,"token_length":N` goes before the closing `}`. `line` must be a JSON
/// object (validated by the caller); nothing else changes.
pub fn push_with_token_length(out: &mut Vec<u8>, line: &[u8], n: u64) {
    let digits = n.to_string();
    let members = top_level_members(line).unwrap_or_default();
    let hits: Vec<&Member> = members
        .iter()
        .filter(|m| &line[m.key.start + 1..m.key.end - 1] == b"token_length")
        .collect();
    if let Some((last, earlier)) = hits.split_last() {
        let mut pos = 0;
        for m in earlier {
            out.extend_from_slice(&line[pos..m.key.start]);
            pos = m.next;
        }
        out.extend_from_slice(&line[pos..last.value.start]);
        out.extend_from_slice(digits.as_bytes());
        out.extend_from_slice(&line[last.value.end..]);
        return;
    }
    let close = line
        .iter()
        .rposition(|&b| b == b'}')
        .expect("a JSON object ends with }");
    let body = &line[..close];
    let empty = body.iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    out.extend_from_slice(body);
    out.extend_from_slice(if empty {
        b"\"token_length\":"
    } else {
        b",\"token_length\":"
    });
    out.extend_from_slice(digits.as_bytes());
    out.extend_from_slice(&line[close..]);
}

/// The byte range of the value of top-level key `key` (written without
/// escapes; its last occurrence) in the JSON object `line`, whitespace
/// excluded.
pub fn top_level_value_span(line: &[u8], key: &[u8]) -> Option<Range<usize>> {
    let members = top_level_members(line)?;
    let found = members
        .into_iter()
        .filter(|m| &line[m.key.start + 1..m.key.end - 1] == key)
        .last();
    found.map(|m| m.value)
}

/// One top-level member of a JSON object line.
struct Member {
    /// Its key, quotes included.
    key: Range<usize>,
    /// Its value, whitespace excluded.
    value: Range<usize>,
    /// Where the next member's key starts (after the comma), or the
    /// closing brace.
    next: usize,
}

/// The top-level members of the JSON object `line`, in order.
fn top_level_members(line: &[u8]) -> Option<Vec<Member>> {
    let mut scan = Scanner {
        bytes: line,
        pos: 0,
    };
    let mut members = Vec::new();
    scan.skip_ws();
    if scan.next()? != b'{' {
        return None;
    }
    loop {
        scan.skip_ws();
        if scan.peek()? != b'"' {
            return Some(members); // `}`: no more keys
        }
        let key = scan.string()?;
        scan.skip_ws();
        if scan.next()? != b':' {
            return None;
        }
        scan.skip_ws();
        let start = scan.pos;
        scan.value()?;
        let value = start..scan.pos;
        scan.skip_ws();
        let more = scan.next()? == b',';
        if more {
            scan.skip_ws();
        }
        let next = if more { scan.pos } else { scan.pos - 1 };
        members.push(Member { key, value, next });
        if !more {
            return Some(members);
        }
    }
}

/// A minimal skipper over already-validated JSON.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Skip a string literal (at its opening quote); its range, quotes included.
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        self.pos += 1;
        loop {
            let at = self.pos + memchr::memchr2(b'"', b'\\', &self.bytes[self.pos..])?;
            self.pos = at + 1;
            if self.bytes[at] == b'"' {
                return Some(start..self.pos);
            }
            self.pos += 1; // the escaped byte
        }
    }

    /// Skip one value of any type.
    fn value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    self.pos += 1;
                }
                b',' | b'}' | b']' if depth == 0 => return Some(()),
                b if b.is_ascii_whitespace() && depth == 0 => return Some(()),
                _ => self.pos += 1,
            }
            if depth == 0
                && matches!(
                    self.bytes.get(self.pos.wrapping_sub(1)),
                    Some(b'"' | b'}' | b']')
                )
            {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(line: &str, n: u64) -> String {
        let mut out = Vec::new();
        push_with_token_length(&mut out, line.as_bytes(), n);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn replaces_in_place_or_appends() {
        assert_eq!(set(r#"{"a":1}"#, 7), r#"{"a":1,"token_length":7}"#);
        assert_eq!(set(r#"{}"#, 7), r#"{"token_length":7}"#);
        assert_eq!(
            set(r#"{"token_length":123,"b":2}"#, 7),
            r#"{"token_length":7,"b":2}"#
        );
        assert_eq!(
            set(r#"{ "a" : {"token_length":1}, "token_length" : null }"#, 9),
            r#"{ "a" : {"token_length":1}, "token_length" : 9 }"#
        );
        assert_eq!(
            set(r#"{"s":"x\"}token_length\\","token_length":"5"}"#, 2),
            r#"{"s":"x\"}token_length\\","token_length":2}"#
        );
        assert_eq!(
            set(r#"{"token_length":1, "a":2,"token_length":3}"#, 9),
            r#"{"a":2,"token_length":9}"#
        );
        assert_eq!(
            set(r#"{"l":[1,[2,{"token_length":3}]],"n":-1.5e3}"#, 4),
            r#"{"l":[1,[2,{"token_length":3}]],"n":-1.5e3,"token_length":4}"#
        );
    }

    #[test]
    fn spans_of_every_value_type() {
        let line = br#"{"a":"x","b":[1,2],"c":{"d":[]},"e":true,"f":12}"#;
        let text = |k: &[u8]| {
            std::str::from_utf8(&line[top_level_value_span(line, k).unwrap()])
                .unwrap()
                .to_owned()
        };
        assert_eq!(text(b"a"), "\"x\"");
        assert_eq!(text(b"b"), "[1,2]");
        assert_eq!(text(b"c"), "{\"d\":[]}");
        assert_eq!(text(b"e"), "true");
        assert_eq!(text(b"f"), "12");
        assert!(top_level_value_span(line, b"d").is_none());
    }
}
