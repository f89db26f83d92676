//! Python semantics the chat templates rely on, written out in Rust so that
//! minijinja renders byte-for-byte what transformers' Jinja2 renders:
//! `json.dumps` (transformers' `tojson` filter), `str.strip` (Jinja's `trim`
//! filter and the `.strip()` method), `str.isspace`, and `repr(float)`.

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, Value};
use std::fmt::Write as _;

/// Python's `str.isspace()` for one character: Unicode White_Space (Rust's
/// [`char::is_whitespace`]) plus the separators `\x1c`–`\x1f`.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Which ends [`py_strip`] strips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// `str.strip`.
    Both,
    /// `str.lstrip`.
    Start,
    /// `str.rstrip`.
    End,
}

/// Python's `str.strip(chars)` / `lstrip` / `rstrip`: with `chars` `None`,
/// strips [`is_py_space`] characters; else any character of `chars`.
pub fn py_strip<'a>(s: &'a str, chars: Option<&str>, ends: Ends) -> &'a str {
    let strip = |c: char| match chars {
        Some(set) => set.contains(c),
        None => is_py_space(c),
    };
    match ends {
        Ends::Both => s.trim_matches(strip),
        Ends::Start => s.trim_start_matches(strip),
        Ends::End => s.trim_end_matches(strip),
    }
}

/// Python's `repr(float)` (shortest round-trip digits; exponent form below
/// 1e-4 and from 1e16 on), with JSON's `NaN`/`Infinity` spellings.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sci = format!("{:e}", f.abs()); // e.g. "1.5e16", "0e0"
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let decpt = exp + 1; // digits before the decimal point
    let body = if (-3..=16).contains(&decpt) {
        fixed_notation(&digits, decpt)
    } else {
        let (head, tail) = digits.split_at(1);
        let frac = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{head}{frac}e{esign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

fn fixed_notation(digits: &str, decpt: i32) -> String {
    if decpt <= 0 {
        return format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize));
    }
    let decpt = decpt as usize;
    if digits.len() <= decpt {
        format!("{digits}{}.0", "0".repeat(decpt - digits.len()))
    } else {
        format!("{}.{}", &digits[..decpt], &digits[decpt..])
    }
}

/// How [`dumps`] writes, mirroring `json.dumps`' keyword arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpsOptions {
    /// Escape every non-ASCII character as `\uXXXX` (surrogate pairs above
    /// the BMP).
    pub ensure_ascii: bool,
    /// Pretty-print with this indent string (`indent=4` is four spaces).
    pub indent: Option<String>,
    /// Item and key separators; `None` means Python's default, which depends
    /// on whether `indent` is set.
    pub separators: Option<(String, String)>,
    /// Sort mapping keys.
    pub sort_keys: bool,
}

impl Default for DumpsOptions {
    /// transformers' `tojson` defaults: `ensure_ascii=False`, no indent.
    fn default() -> Self {
        DumpsOptions {
            ensure_ascii: false,
            indent: None,
            separators: None,
            sort_keys: false,
        }
    }
}

/// Appends `s` as a JSON string literal the way Python's `json` module writes
/// it (lowercase `\u00XX` for control characters; `\x7f` and above escaped
/// only with `ensure_ascii`).
pub fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    write!(out, "\\u{unit:04x}").unwrap();
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `json.dumps(value, **opts)` for a template value. Undefined
/// values and objects Python could not serialise are errors.
pub fn dumps(value: &Value, opts: &DumpsOptions) -> Result<String, Error> {
    let (item_sep, key_sep) = match &opts.separators {
        Some((i, k)) => (i.as_str(), k.as_str()),
        None if opts.indent.is_some() => (",", ": "),
        None => (", ", ": "),
    };
    let mut w = Dumper {
        opts,
        item_sep,
        key_sep,
        out: String::new(),
    };
    w.value(value, 0)?;
    Ok(w.out)
}

struct Dumper<'a> {
    opts: &'a DumpsOptions,
    item_sep: &'a str,
    key_sep: &'a str,
    out: String,
}

impl Dumper<'_> {
    fn value(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        match v.kind() {
            ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self
                .out
                .push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => self.out.push_str(&number(v)?),
            ValueKind::String => write_json_str(
                &mut self.out,
                v.as_str().unwrap_or(""),
                self.opts.ensure_ascii,
            ),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter()?.collect();
                self.seq(&items, depth)?
            }
            ValueKind::Map => self.map(v, depth)?,
            kind => return Err(not_serializable(kind)),
        }
        Ok(())
    }

    fn seq(&mut self, items: &[Value], depth: usize) -> Result<(), Error> {
        if items.is_empty() {
            self.out.push_str("[]");
            return Ok(());
        }
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            self.separator(i, depth + 1);
            self.value(item, depth + 1)?;
        }
        self.newline(depth);
        self.out.push(']');
        Ok(())
    }

    fn map(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        let mut entries = Vec::new();
        for key in v.try_iter()? {
            let item = v.get_item(&key)?;
            entries.push((key_string(&key)?, item));
        }
        if entries.is_empty() {
            self.out.push_str("{}");
            return Ok(());
        }
        if self.opts.sort_keys {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        self.out.push('{');
        for (i, (key, item)) in entries.iter().enumerate() {
            self.separator(i, depth + 1);
            write_json_str(&mut self.out, key, self.opts.ensure_ascii);
            self.out.push_str(self.key_sep);
            self.value(item, depth + 1)?;
        }
        self.newline(depth);
        self.out.push('}');
        Ok(())
    }

    /// Before item `i` at `depth`: the item separator (not before the first),
    /// then, when indenting, a newline and the indent.
    fn separator(&mut self, i: usize, depth: usize) {
        if i > 0 {
            self.out.push_str(self.item_sep);
        }
        self.newline(depth);
    }

    fn newline(&mut self, depth: usize) {
        if let Some(indent) = &self.opts.indent {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str(indent);
            }
        }
    }
}

fn number(v: &Value) -> Result<String, Error> {
    if v.is_integer() {
        return Ok(v.to_string());
    }
    let f = f64::try_from(v.clone())?;
    Ok(py_float_repr(f))
}

/// Python converts str, int, float, bool and None keys; others are a TypeError.
fn key_string(key: &Value) -> Result<String, Error> {
    match key.kind() {
        ValueKind::String => Ok(key.as_str().unwrap_or("").to_owned()),
        ValueKind::None => Ok("null".into()),
        ValueKind::Bool => Ok(if key.is_true() { "true" } else { "false" }.into()),
        ValueKind::Number => number(key),
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson: keys must be str, int, float, bool or None, not {kind}"),
        )),
    }
}

fn not_serializable(kind: ValueKind) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("tojson: Object of kind {kind} is not JSON serializable"),
    )
}

/// Parses the arguments of transformers' filter
/// `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`,
/// positional or keyword.
pub fn dumps_options(positional: &[Value], kwargs: &Kwargs) -> Result<DumpsOptions, Error> {
    const NAMES: [&str; 4] = ["ensure_ascii", "indent", "separators", "sort_keys"];
    if positional.len() > NAMES.len() {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "tojson takes at most 4 arguments",
        ));
    }
    let arg = |i: usize| -> Result<Option<Value>, Error> {
        match (positional.get(i), kwargs.get::<Option<Value>>(NAMES[i])?) {
            (Some(_), Some(_)) => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson got multiple values for argument '{}'", NAMES[i]),
            )),
            (p, k) => Ok(p.cloned().or(k).filter(|v| !v.is_none())),
        }
    };
    let opts = DumpsOptions {
        ensure_ascii: arg(0)?.is_some_and(|v| v.is_true()),
        indent: arg(1)?.map(|v| indent_string(&v)).transpose()?,
        separators: arg(2)?.map(|v| separators(&v)).transpose()?,
        sort_keys: arg(3)?.is_some_and(|v| v.is_true()),
    };
    kwargs.assert_all_used()?;
    Ok(opts)
}

/// `indent=4` → four spaces, `indent="\t"` → a tab, negative → "" (Python).
fn indent_string(v: &Value) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_owned());
    }
    let n = v.as_i64().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            "tojson: indent must be an int or a str",
        )
    })?;
    Ok(" ".repeat(n.max(0) as usize))
}

fn separators(v: &Value) -> Result<(String, String), Error> {
    let parts: Vec<Value> = v.try_iter()?.collect();
    match parts.as_slice() {
        [i, k] if i.as_str().is_some() && k.as_str().is_some() => Ok((
            i.as_str().unwrap().to_owned(),
            k.as_str().unwrap().to_owned(),
        )),
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            "tojson: separators must be two strings",
        )),
    }
}

/// Python's `str(value)` for scalars (None, bools, floats); other values as
/// minijinja prints them.
pub fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number if !v.is_integer() => match f64::try_from(v.clone()) {
            Ok(f) if f.is_nan() => "nan".into(),
            Ok(f) if f.is_infinite() => if f > 0.0 { "inf" } else { "-inf" }.into(),
            Ok(f) => py_float_repr(f),
            Err(_) => v.to_string(),
        },
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.5e-7, "1.5e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (f, want) in cases {
            assert_eq!(py_float_repr(f), want, "{f:?}");
        }
    }

    #[test]
    fn strip_uses_python_whitespace() {
        assert_eq!(py_strip("\x1c\x1f a \u{3000}\u{85}", None, Ends::Both), "a");
        assert_eq!(
            py_strip("\u{200b}a\u{feff}", None, Ends::Both),
            "\u{200b}a\u{feff}"
        );
        assert_eq!(py_strip("xxaxx", Some("x"), Ends::Start), "axx");
        assert_eq!(py_strip(" a ", None, Ends::End), " a");
    }

    #[test]
    fn json_strings_match_python() {
        let mut s = String::new();
        write_json_str(&mut s, "a\"\\\n\r\t\x08\x0c\x00\x1f\x7f é😀\u{2028}", false);
        assert_eq!(
            s,
            "\"a\\\"\\\\\\n\\r\\t\\b\\f\\u0000\\u001f\x7f é😀\u{2028}\""
        );
        s.clear();
        write_json_str(&mut s, "\x7f é😀", true);
        assert_eq!(s, "\"\\u007f \\u00e9\\ud83d\\ude00\"");
    }
}
