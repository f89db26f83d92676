//! A small ordered JSON object writer for generated rows. Rows are written
//! straight into a byte buffer, key by key, so column order is fixed and the
//! large repeated columns can be spliced in pre-serialised. Two string
//! encodings: UTF-8 as-is (serde_json, like `json.dumps(ensure_ascii=False)`)
//! or ASCII-only with `\uXXXX` escapes and `\/`, as pandas writes.

/// How strings are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Non-ASCII written as UTF-8.
    Utf8,
    /// Non-ASCII as `\uXXXX` (surrogate pairs above U+FFFF) and `/` as `\/`.
    Ascii,
}

/// Append `s` to `out` as a JSON string literal.
pub fn string(out: &mut Vec<u8>, s: &str, enc: Encoding) {
    match enc {
        Encoding::Utf8 => serde_json::to_writer(&mut *out, s).expect("writing to a Vec"),
        Encoding::Ascii => ascii_string(out, s),
    }
}

fn ascii_string(out: &mut Vec<u8>, s: &str) {
    crate::format::json::push_json_string(out, s, crate::format::json::JsonStyle::Pandas);
}

/// An open JSON object being written into a buffer.
pub struct Obj<'b> {
    out: &'b mut Vec<u8>,
    enc: Encoding,
    empty: bool,
}

impl<'b> Obj<'b> {
    /// Start an object (`{`) at the end of `out`.
    pub fn new(out: &'b mut Vec<u8>, enc: Encoding) -> Self {
        out.push(b'{');
        Obj {
            out,
            enc,
            empty: true,
        }
    }

    fn key(&mut self, k: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        string(self.out, k, self.enc);
        self.out.push(b':');
    }

    /// A string member.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        string(self.out, v, self.enc);
        self
    }

    /// A member whose value is already-serialised JSON.
    pub fn raw(&mut self, k: &str, json: &[u8]) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(json);
        self
    }

    /// An integer member.
    pub fn int(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(v.to_string().as_bytes());
        self
    }

    /// A floating-point member (written by serde_json, shortest round-trip).
    pub fn float(&mut self, k: &str, v: f64) -> &mut Self {
        self.key(k);
        serde_json::to_writer(&mut *self.out, &v).expect("writing to a Vec");
        self
    }

    /// A boolean member.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// A `null` member.
    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.extend_from_slice(b"null");
        self
    }

    /// A nested object member, filled by `f`.
    pub fn obj(&mut self, k: &str, f: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        self.key(k);
        let mut inner = Obj::new(self.out, self.enc);
        f(&mut inner);
        inner.close();
        self
    }

    /// Close the object (`}`).
    pub fn close(self) {
        self.out.push(b'}');
    }
}

/// Serialise a list of chat messages `[{"role":…,"content":…}, …]`.
pub fn messages(out: &mut Vec<u8>, msgs: &[(&str, &str)], enc: Encoding) {
    out.push(b'[');
    for (i, (role, content)) in msgs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut m = Obj::new(out, enc);
        m.str("role", role).str("content", content);
        m.close();
    }
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str, e: Encoding) -> String {
        let mut out = Vec::new();
        string(&mut out, s, e);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn ascii_escapes_like_pandas() {
        assert_eq!(enc("a/b", Encoding::Ascii), r#""a\/b""#);
        assert_eq!(enc("é🚀", Encoding::Ascii), r#""\u00e9\ud83d\ude80""#);
        // pandas 2.3 keeps DEL raw (checked: to_json of "\x7f" is "\x7f").
        assert_eq!(enc("\u{1f}\u{7f}", Encoding::Ascii), "\"\\u001f\u{7f}\"");
        assert_eq!(enc("q\"\\", Encoding::Ascii), r#""q\"\\""#);
    }

    #[test]
    fn both_encodings_parse_to_the_same_string() {
        let s = "x/y \"é\" \\ 比赛 🏈 \u{1f}\t\n\u{85}";
        for e in [Encoding::Utf8, Encoding::Ascii] {
            let back: String = serde_json::from_str(&enc(s, e)).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn object_keeps_member_order() {
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out, Encoding::Utf8);
        o.str("b", "1").int("a", 2).null("c").bool("d", true);
        o.obj("e", |e| {
            e.float("f", 0.5);
        });
        o.close();
        assert_eq!(out, br#"{"b":"1","a":2,"c":null,"d":true,"e":{"f":0.5}}"#);
    }
}
