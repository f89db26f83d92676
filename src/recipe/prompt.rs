//! The recipe's `metadata.sys_prompt`, applied the way InstructLab's data
//! mixing does: every `system` message of a record gets the prompt as its
//! content, and a record without one gets `{"role":"system","content":…}`
//! at the head of its `messages`. Only the `messages` value is re-encoded:
//! a small scanner finds its byte span among the record's top-level keys
//! and every other byte of the line is kept as it was.

use serde_json::{json, Value};

/// Write `line` with the system prompt applied to `out` (no newline).
pub fn apply(line: &[u8], prompt: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let (start, end) = find_value(line, "messages").ok_or("record has no top-level `messages`")?;
    let mut messages: Vec<Value> = serde_json::from_slice(&line[start..end])
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
    out.extend_from_slice(&line[..start]);
    serde_json::to_writer(&mut *out, &messages).map_err(|e| e.to_string())?;
    out.extend_from_slice(&line[end..]);
    Ok(())
}

/// The byte span of top-level key `key`'s value in a JSON object line.
pub fn find_value(b: &[u8], key: &str) -> Option<(usize, usize)> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    loop {
        i = skip_ws(b, i + 1);
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(b, i)?;
        let name = &b[i..key_end];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, i + 1);
        let end = skip_value(b, start)?;
        if key_matches(name, key) {
            return Some((start, end));
        }
        i = skip_ws(b, end);
        if b.get(i) != Some(&b',') {
            return None;
        }
    }
}

fn key_matches(quoted: &[u8], key: &str) -> bool {
    if quoted.contains(&b'\\') {
        return serde_json::from_slice::<String>(quoted).is_ok_and(|k| k == key);
    }
    &quoted[1..quoted.len() - 1] == key.as_bytes()
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `b[i]` is `"`: the index after the closing quote.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let n = b[i..]
                .iter()
                .position(|c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace());
            Some(i + n.unwrap_or(b.len() - i))
        }
    }
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
            find_value(br#"{"a":[1,{"b":"]"}],"m\u0065ssages":[]}"#, "messages"),
            Some((35, 37))
        );
        let mut out = Vec::new();
        assert!(apply(br#"{"a":1}"#, "p", &mut out)
            .unwrap_err()
            .contains("no top-level `messages`"));
    }
}
