//! The recipe's `metadata.sys_prompt`, applied the way InstructLab's data
//! mixing does: every `system` message of a record gets the prompt as its
//! content, and a record without one gets `{"role":"system","content":…}`
//! at the head of its `messages`. Only the `messages` value is re-encoded:
//! the top-level reader ([`crate::read::scan`]) finds its byte span and
//! every other byte of the line is kept as it was.

use serde_json::{json, Value};

use crate::read::fields::location;
use crate::read::scan::Scanner;

thread_local! {
    static SCANNER: std::cell::RefCell<Scanner> = std::cell::RefCell::new(Scanner::default());
}

/// Write `line` with the system prompt applied to `out` (no newline). The
/// record's top level is read by [`Scanner`], the one top-level reader:
/// `messages` is its last occurrence (as Python's `json` reads duplicate
/// keys), and only that value is re-encoded.
pub fn apply(line: &[u8], prompt: &str, out: &mut Vec<u8>) -> Result<(), String> {
    SCANNER.with(|cell| {
        let mut scanner = cell.borrow_mut();
        let nowhere = || location(std::path::Path::new(""), 0);
        let top = scanner.scan(line, nowhere).map_err(|e| match e {
            crate::error::RecordError::Malformed { reason, .. } => reason,
            other => other.to_string(),
        })?;
        let span = top
            .extent("messages")
            .ok_or("record has no top-level `messages`")?;
        let mut messages: Vec<Value> = serde_json::from_slice(&line[span])
            .map_err(|e| format!("`messages` must be a list of {{role, content}} objects: {e}"))?;
        let mut found = false;
        for m in messages
            .iter_mut()
            .filter(|m| m.get("role").and_then(Value::as_str) == Some("system"))
        {
            m["content"] = Value::String(prompt.to_owned());
            found = true;
        }
        if !found {
            messages.insert(0, json!({"role": "system", "content": prompt}));
        }
        let encoded = serde_json::to_vec(&messages).map_err(|e| e.to_string())?;
        top.write_with("messages", &encoded, out);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(line: &str) -> String {
        let mut out = Vec::new();
        apply(line.as_bytes(), "Be brief.", &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn inserts_at_head_and_keeps_other_bytes() {
        let line =
            r#"{"id": "x\"}", "messages" : [{"role":"user","content":"q"}], "token_length":12}"#;
        assert_eq!(
            applied(line),
            r#"{"id": "x\"}", "messages" : [{"role":"system","content":"Be brief."},{"role":"user","content":"q"}], "token_length":12}"#
        );
    }

    #[test]
    fn replaces_an_existing_system_message() {
        let line =
            r#"{"messages":[{"role":"system","content":"old"},{"role":"user","content":"q"}]}"#;
        assert_eq!(
            applied(line),
            r#"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"q"}]}"#
        );
    }

    #[test]
    fn finds_escaped_keys_and_reports_absence() {
        assert_eq!(
            applied(r#"{"a":[1,{"b":"]"}],"m\u0065ssages":[]}"#),
            r#"{"a":[1,{"b":"]"}],"m\u0065ssages":[{"role":"system","content":"Be brief."}]}"#
        );
        // Duplicate keys: the last one is the record's (Python), and the
        // key is written once.
        assert_eq!(
            applied(r#"{"messages":[],"x":1,"messages":[{"role":"user","content":"q"}]}"#),
            r#"{"x":1,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"q"}]}"#
        );
        let mut out = Vec::new();
        assert!(apply(br#"{"a":1}"#, "p", &mut out)
            .unwrap_err()
            .contains("no top-level `messages`"));
    }
}
