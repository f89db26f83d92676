//! Working on finished records (step-04 lines, or anything shaped like
//! them) without re-encoding them: read a conversation out of a `messages`
//! list, read `metadata.dataset` (an object, or a JSON string holding one as
//! step 04 writes it), and set a top-level `token_length` by splicing bytes
//! into the original line, so every other byte of the record is kept. The
//! pipe commands (`tokens`, `stats`) are built on these pure functions.

use simd_json::prelude::*;
use simd_json::value::tape::Value;
use simd_json::ValueType;

use crate::error::{Location, RecordError};
use crate::format::Turn;
use crate::read::fields::{member, FieldParser, ParsedLine};
use crate::read::scan::Scanner;

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

/// Append `line` to `out` with its top-level `token_length` set to `n`
/// ([`TopLevel::write_with`](crate::read::scan::TopLevel::write_with): the
/// last occurrence replaced in place, earlier ones dropped, or appended
/// before the closing brace). Every other byte is kept.
pub fn push_with_token_length(
    out: &mut Vec<u8>,
    line: &[u8],
    n: u64,
    at: &dyn Fn() -> Location,
) -> Result<(), RecordError> {
    SCANNER.with(|cell| {
        let mut scanner = cell.borrow_mut();
        let top = scanner.scan(line, at)?;
        top.write_with("token_length", n.to_string().as_bytes(), out);
        Ok(())
    })
}

thread_local! {
    static SCANNER: std::cell::RefCell<Scanner> = std::cell::RefCell::new(Scanner::default());
    static SCRATCH: std::cell::RefCell<(FieldParser, Vec<u8>)> = std::cell::RefCell::new(Default::default());
}

/// Parse `line` with simd-json (on a copy: the original bytes stay intact)
/// and call `f` with the parsed record and `at`, which names its place.
pub fn with_parsed<R>(
    line: &[u8],
    at: &dyn Fn() -> Location,
    f: impl FnOnce(&ParsedLine<'_>, &dyn Fn() -> Location) -> Result<R, RecordError>,
) -> Result<R, RecordError> {
    SCRATCH.with(|cell| {
        let (parser, copy) = &mut *cell.borrow_mut();
        copy.clear();
        copy.extend_from_slice(line);
        let parsed = parser.parse(copy, at).map_err(|e| clearer(e, line, at))?;
        f(&parsed, at)
    })
}

/// simd-json's words for a malformed line name its internals
/// (`InternalError(TapeError)`); the strict scanner's say what is wrong
/// and where, so a malformed line is described by the scanner.
fn clearer(err: RecordError, line: &[u8], at: &dyn Fn() -> Location) -> RecordError {
    if !matches!(err, RecordError::Malformed { .. }) {
        return err;
    }
    match Scanner::default().scan(line, at) {
        Err(described) => described,
        Ok(_) => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(line: &str, n: u64) -> String {
        let mut out = Vec::new();
        let at = || crate::read::fields::location(std::path::Path::new("t"), 1);
        push_with_token_length(&mut out, line.as_bytes(), n, &at).unwrap();
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
        // An escaped key is the same key (as Python reads it).
        assert_eq!(
            set(r#"{"token\u005flength":1,"a":2}"#, 5),
            r#"{"token\u005flength":5,"a":2}"#
        );
        assert_eq!(set(r#"{"a":1 }"#, 7), r#"{"a":1 ,"token_length":7}"#);
        assert_eq!(set(r#"{ }"#, 7), r#"{ "token_length":7}"#);
    }
}
