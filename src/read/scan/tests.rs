//! Unit tests of the scanner: the grammar edge by edge, error messages, and
//! the [`TopLevel`] API; `differential` checks it against simd-json.

mod differential;

use std::path::Path;

use super::*;
use crate::read::fields::location;

fn at() -> Location {
    location(Path::new("f.jsonl"), 3)
}

/// Scan `text`, returning its members as owned pairs or the error message.
fn scan(text: &str) -> Result<Vec<(String, String)>, String> {
    scan_bytes(text.as_bytes())
}

fn scan_bytes(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let line = bytes.to_vec();
    let mut scanner = Scanner::default();
    let row = scanner.scan(&line, at).map_err(|e| e.to_string())?;
    Ok(row
        .members()
        .map(|(k, v)| {
            let v = match v {
                FieldValue::Str(s) => format!("str:{s}"),
                other => other.type_name().to_owned(),
            };
            (k.to_owned(), v)
        })
        .collect())
}

/// The string value of member `a` in `{"a":<value>}`.
fn string_of(value: &str) -> Result<String, String> {
    let members = scan(&format!(r#"{{"a":{value}}}"#))?;
    Ok(members[0]
        .1
        .strip_prefix("str:")
        .expect("a string")
        .to_owned())
}

fn error_of(text: &str) -> String {
    scan(text).expect_err(text)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_short_escape_decodes() {
    assert_eq!(
        string_of(r#""\"\\\/\b\f\n\r\t""#).unwrap(),
        "\"\\/\u{8}\u{c}\n\r\t"
    );
    assert_eq!(string_of(r#""a\nb""#).unwrap(), "a\nb");
    assert_eq!(
        string_of(r#""\u00e9\u0041\u0000\uFFFF""#).unwrap(),
        "éA\0\u{ffff}"
    );
    // Text after and between escapes moves down correctly past word edges.
    let long = format!(
        r#""{}\t{}\u00e9{}""#,
        "x".repeat(37),
        "é".repeat(20),
        "y".repeat(9)
    );
    let want = format!("{}\t{}é{}", "x".repeat(37), "é".repeat(20), "y".repeat(9));
    assert_eq!(string_of(&long).unwrap(), want);
}

#[test]
fn surrogate_pairs_combine_and_lone_ones_fail() {
    assert_eq!(string_of(r#""\uD83D\uDE00!""#).unwrap(), "😀!");
    assert_eq!(string_of(r#""\ud800\udc00""#).unwrap(), "\u{10000}");
    assert_eq!(string_of(r#""\uDBFF\uDFFF""#).unwrap(), "\u{10FFFF}");
    for bad in [
        r#""\ud800""#,
        r#""\ud800x""#,
        r#""\ud800\n""#,
        r#""\ud800\u0041""#,
        r#""\ud800\ud800""#,
        r#""\udc00""#,
        r#""\udc00\ud800""#,
    ] {
        let e = string_of(bad).unwrap_err();
        assert!(
            e.contains("unpaired surrogate in \\u escape at byte 6"),
            "{bad}: {e}"
        );
    }
    // Also when skipped inside a nested value.
    let e = error_of(r#"{"a":["\udc00"]}"#);
    assert!(e.contains("unpaired surrogate"), "{e}");
}

#[test]
fn bad_escapes_fail() {
    for (bad, reason) in [
        (r#""\x""#, "invalid escape at byte 6"),
        (r#""\U0041""#, "invalid escape at byte 6"),
        (r#""\u00g0""#, "invalid \\u escape at byte 6"),
        (r#""\u00""#, "invalid \\u escape at byte 6"),
        (r#""\'""#, "invalid escape at byte 6"),
    ] {
        let e = string_of(bad).unwrap_err();
        assert!(e.contains(reason), "{bad}: {e}");
        let nested = error_of(&format!(r#"{{"a":{{"b":[{bad}]}}}}"#));
        assert!(nested.contains(&reason[..10]), "{bad}: {nested}");
    }
}

#[test]
fn control_characters_in_strings_fail_but_del_is_text() {
    for c in 0u8..0x20 {
        let line = [br#"{"a":"x"#.as_slice(), &[c], br#"y"}"#].concat();
        let e = scan_bytes(&line).unwrap_err();
        assert!(
            e.contains("control character in string at byte 7"),
            "{c}: {e}"
        );
        let nested = [br#"{"a":["x"#.as_slice(), &[c], br#""]}"#].concat();
        assert!(scan_bytes(&nested).is_err(), "{c}");
    }
    assert_eq!(string_of("\"a\u{7f}b\"").unwrap(), "a\u{7f}b");
}

#[test]
fn numbers_follow_the_grammar() {
    for good in [
        "0",
        "-0",
        "1",
        "-1",
        "10",
        "1.5",
        "-0.0",
        "0e0",
        "1E5",
        "1e+5",
        "1e-5",
        "2.5E-3",
        "123456789012345678901234567890",
        "1e400",
        "-9223372036854775809",
    ] {
        let members =
            scan(&format!(r#"{{"a":{good},"b":1}}"#)).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(
            members,
            pairs(&[("a", "a number"), ("b", "a number")]),
            "{good}"
        );
    }
    for (bad, reason) in [
        ("01", "leading zero in number at byte 5"),
        ("-01", "leading zero in number at byte 6"),
        ("-", "expected a digit at byte 6"),
        ("-a", "expected a digit at byte 6"),
        ("1.", "expected a digit after '.' at byte 7"),
        ("1.e5", "expected a digit after '.' at byte 7"),
        (".5", "expected a value at byte 5"),
        ("+1", "expected a value at byte 5"),
        ("1e", "expected a digit in the exponent at byte 7"),
        ("1e+", "expected a digit in the exponent at byte 8"),
        ("1x", "expected ',' or '}' at byte 6"),
        ("0x10", "expected ',' or '}' at byte 6"),
        ("1.5.5", "expected ',' or '}' at byte 8"),
        ("NaN", "NaN and Infinity are not JSON"),
        ("Infinity", "NaN and Infinity are not JSON"),
    ] {
        let e = error_of(&format!(r#"{{"a":{bad}}}"#));
        assert!(e.contains(reason), "{bad}: {e}");
        assert!(scan(&format!(r#"{{"a":[{bad}]}}"#)).is_err(), "{bad}");
    }
}

#[test]
fn get_u64_reads_non_negative_integers() {
    let line = br#"{"n":42,"z":0,"m":-0,"neg":-1,"f":1.0,"e":1e2,"big":18446744073709551615,"over":18446744073709551616,"s":"7","nil":null,"b":true}"#.to_vec();
    let mut scanner = Scanner::default();
    let row = scanner.scan(&line, at).unwrap();
    assert_eq!(row.get_u64("n"), Ok(Some(42)));
    assert_eq!(row.get_u64("z"), Ok(Some(0)));
    assert_eq!(row.get_u64("m"), Ok(Some(0)));
    assert_eq!(row.get_u64("big"), Ok(Some(u64::MAX)));
    let not_integer = Err("a number that is not a non-negative integer");
    for key in ["neg", "f", "e", "over"] {
        assert_eq!(row.get_u64(key), not_integer, "{key}");
    }
    assert_eq!(row.get_u64("s"), Err("a string"));
    assert_eq!(row.get_u64("b"), Err("a boolean"));
    assert_eq!(row.get_u64("nil"), Ok(None));
    assert_eq!(row.get_u64("absent"), Ok(None));
}

#[test]
fn literals_are_exact() {
    let members = scan(r#"{"t":true,"f":false,"n":null}"#).unwrap();
    assert_eq!(
        members,
        pairs(&[("t", "a boolean"), ("f", "a boolean"), ("n", "null")])
    );
    for bad in ["tru", "True", "nul", "fals", "truex", "nullnull", "t"] {
        assert!(scan(&format!(r#"{{"a":{bad}}}"#)).is_err(), "{bad}");
        assert!(scan(&format!(r#"{{"a":[{bad}]}}"#)).is_err(), "{bad}");
    }
}

#[test]
fn nesting_is_checked_and_limited() {
    let members =
        scan(r#"{"l":[1,[2,{"x":[{}]}],[]],"o":{"a":{"b":[null,true,"s"]}},"e":[],"eo":{}}"#)
            .unwrap();
    assert_eq!(
        members,
        pairs(&[
            ("l", "a list"),
            ("o", "an object"),
            ("e", "a list"),
            ("eo", "an object")
        ])
    );
    let deep = |n: usize| format!(r#"{{"a":{}{}}}"#, "[".repeat(n), "]".repeat(n));
    assert!(scan(&deep(MAX_DEPTH - 1)).is_ok());
    let e = error_of(&deep(MAX_DEPTH));
    assert!(
        e.contains(&format!(
            "containers nested too deep at byte {}",
            5 + MAX_DEPTH - 1
        )),
        "{e}"
    );
    let mixed = format!(
        r#"{{"a":{}1{}}}"#,
        r#"{"k":["#.repeat(400),
        "]}".repeat(400)
    );
    assert!(scan(&mixed).is_ok());
    for bad in [
        r#"{"a":[1,]}"#,
        r#"{"a":[,1]}"#,
        r#"{"a":{"b":1,}}"#,
        r#"{"a":{"b"}}"#,
        r#"{"a":{"b":}}"#,
        r#"{"a":{1:2}}"#,
        r#"{"a":[1}"#,
        r#"{"a":{"b":1]}"#,
        r#"{"a":[1 2]}"#,
        r#"{"a":[[]"#,
    ] {
        assert!(scan(bad).is_err(), "{bad}");
    }
}

#[test]
fn duplicate_keys_last_wins_like_python() {
    let line = br#"{"q":"first","q":"second","n":null,"n":"x"}"#.to_vec();
    let mut scanner = Scanner::default();
    let row = scanner.scan(&line, at).unwrap();
    assert_eq!(row.get("q"), FieldValue::Str("second"));
    assert_eq!(row.get("n"), FieldValue::Str("x"));
    assert_eq!(row.keys(), ["q", "q", "n", "n"]);
}

#[test]
fn whitespace_around_everything() {
    let members =
        scan(" \t\r\n{ \"a\" :\t\"x\" ,\n\"b\"\r: [ 1 , { \"c\" : 2 } ] , \"d\" : null }\r\n ")
            .unwrap();
    assert_eq!(
        members,
        pairs(&[("a", "str:x"), ("b", "a list"), ("d", "null")])
    );
    // Only the four JSON whitespace bytes.
    for ws in ["\u{c}", "\u{b}", "\u{a0}", "\0"] {
        assert!(scan(&format!("{{}}{ws}")).is_err(), "{ws:?}");
        assert!(scan(&format!("{{\"a\":{ws}1}}")).is_err(), "{ws:?}");
    }
}

#[test]
fn empty_object_and_trailing_garbage() {
    assert_eq!(scan("{}").unwrap(), vec![]);
    assert_eq!(scan(" { } ").unwrap(), vec![]);
    for (bad, reason) in [
        (
            r#"{"a":1}x"#,
            "trailing characters after the object at byte 7",
        ),
        (
            r#"{"a":1}}"#,
            "trailing characters after the object at byte 7",
        ),
        (r#"{} {}"#, "trailing characters after the object at byte 3"),
        (
            r#"{"a":1},"#,
            "trailing characters after the object at byte 7",
        ),
        (r#"{"a":1,}"#, "expected a string key at byte 7"),
        (r#"{,}"#, "expected a string key at byte 1"),
        (r#"{"a" 1}"#, "expected ':' at byte 5"),
        (r#"{"a":1 "b":2}"#, "expected ',' or '}' at byte 7"),
    ] {
        let e = error_of(bad);
        assert!(e.contains(reason), "{bad}: {e}");
    }
}

#[test]
fn truncated_lines_fail_at_the_end() {
    let full = r#"{"a":"x\u00e9","b":[1,{"c":"d"}],"e":-1.5e3,"f":true}"#;
    for cut in 0..full.len() {
        let e = error_of(&full[..cut]);
        assert!(e.starts_with("f.jsonl:3: malformed JSON: "), "{cut}: {e}");
    }
    assert_eq!(
        error_of(r#"{"a":"#),
        "f.jsonl:3: malformed JSON: expected a value at byte 5 (the end of the line)"
    );
    assert_eq!(
        error_of(r#"{"a":"abc"#),
        "f.jsonl:3: malformed JSON: unterminated string at byte 5"
    );
    assert!(error_of(r#"{"a":["abc"#).contains("unterminated string at byte 6"));
}

#[test]
fn lines_that_are_not_objects_fail() {
    for bad in ["[1]", "\"s\"", "1", "null", "true", "", "  ", "}", "x"] {
        let e = error_of(bad);
        assert!(
            e.starts_with("f.jsonl:3: malformed JSON: each line must be a JSON object"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn keys_with_escapes_are_unescaped() {
    let line = br#"{"qu\u0065stion":"Q","a\"b":1,"\ud83d\ude00":"smile","t\tab":null}"#.to_vec();
    let mut scanner = Scanner::default();
    let row = scanner.scan(&line, at).unwrap();
    assert_eq!(row.get("question"), FieldValue::Str("Q"));
    assert_eq!(row.get("a\"b"), FieldValue::NUMBER);
    assert_eq!(row.get("😀"), FieldValue::Str("smile"));
    assert_eq!(row.keys(), ["question", "a\"b", "😀", "t\tab"]);
    assert!(error_of(r#"{"a\x":1}"#).contains("invalid escape at byte 3"));
}

#[test]
fn invalid_utf8_names_the_byte() {
    let e = scan_bytes(b"{\"a\": \"ok\xff\"}").unwrap_err();
    assert_eq!(
        e,
        "f.jsonl:3: invalid UTF-8 near byte 9; the file must be UTF-8 JSON lines"
    );
    // Anywhere on the line, even in a skipped value or after the object.
    assert!(scan_bytes(b"{\"a\":[\"\xc3\"]}")
        .unwrap_err()
        .contains("near byte 7"));
    assert!(scan_bytes(b"{}\xe2\x82")
        .unwrap_err()
        .contains("invalid UTF-8 near byte 2"));
}

#[test]
fn required_str_and_errors_name_file_line_and_field() {
    let line = br#"{"summarized_document":"s","question":5,"r":"x"}"#.to_vec();
    let mut scanner = Scanner::default();
    let row = scanner.scan(&line, at).unwrap();
    assert_eq!(row.required_str("r", at).unwrap(), "x");
    assert_eq!(
        row.required_str("question", at).unwrap_err().to_string(),
        "f.jsonl:3: field `question` must be a string, found a number"
    );
    let e = row.required_str("document", at).unwrap_err().to_string();
    assert!(
        e.starts_with("f.jsonl:3: missing column(s) [\"document\"]"),
        "{e}"
    );
    assert!(e.contains("--column document=summarized_document"), "{e}");
}

#[test]
fn scanner_is_reusable_across_lines() {
    let mut scanner = Scanner::default();
    let first = br#"{"a":"1","b":"2"}"#.to_vec();
    assert_eq!(scanner.scan(&first, at).unwrap().keys(), ["a", "b"]);
    let bad = br#"{"c":"#.to_vec();
    assert!(scanner.scan(&bad, at).is_err());
    let second = br#"{"c":"3"}"#.to_vec();
    let row = scanner.scan(&second, at).unwrap();
    assert_eq!(row.keys(), ["c"]);
    assert_eq!(row.get("a"), FieldValue::Missing);
}

#[test]
fn finds_specials_at_every_offset() {
    // Every position relative to the word and block edges, every kind.
    for len in 0..80 {
        for special in [b'"', b'\\', 0x1f, 0x00] {
            let mut bytes = vec![b'a'; len];
            bytes.extend_from_slice(&[0xc3, 0xa9, 0x7f, 0x20]);
            let want = bytes.len();
            bytes.push(special);
            bytes.extend_from_slice(b"\"\\xyz");
            let mut bits = Vec::new();
            let line = grammar::Line::new(&bytes, &mut bits);
            assert_eq!(grammar::find_special(&line, 0), want, "{len} {special}");
            for pos in 0..=want {
                assert_eq!(
                    grammar::find_special(&line, pos),
                    want,
                    "{len} {special} {pos}"
                );
            }
            assert_eq!(grammar::find_special(&line, want + 1), want + 1);
        }
        let plain = vec![b'b'; len];
        let mut bits = Vec::new();
        assert_eq!(
            grammar::find_special(&grammar::Line::new(&plain, &mut bits), 0),
            len
        );
    }
}

#[test]
fn the_sse2_bitmap_is_the_byte_by_byte_one() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for round in 0..2000 {
        let mut block = [0u8; 64];
        for b in &mut block {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Mostly the bytes that matter and their neighbours.
            let pick = [
                b'"', b'\\', 0x1f, 0x20, 0x00, 0x7f, 0x80, 0xff, b'a', b'!', b'#', 0x5b, 0x5d,
            ];
            *b = if round % 2 == 0 {
                pick[(state >> 59) as usize % pick.len()]
            } else {
                (state >> 56) as u8
            };
        }
        let mut bits = Vec::new();
        let line = grammar::Line::new(&block, &mut bits);
        let got: Vec<usize> = (0..64)
            .filter(|&i| grammar::find_special(&line, i) == i)
            .collect();
        let want: Vec<usize> = (0..64)
            .filter(|&i| grammar::special_bits_plain(&block) >> i & 1 == 1)
            .collect();
        assert_eq!(got, want, "{block:?}");
    }
}

#[test]
fn specials_flag_exactly_quote_backslash_and_control_bytes() {
    for byte in 0..=255u8 {
        let special = byte == b'"' || byte == b'\\' || byte < 0x20;
        for offset in 0..8 {
            let mut word = [b'a'; 8];
            word[offset] = byte;
            let mut bits = Vec::new();
            let found = grammar::find_special(&grammar::Line::new(&word, &mut bits), 0);
            assert_eq!(found == offset, special, "{byte:#x} at {offset}");
            assert_eq!(found == 8, !special, "{byte:#x} at {offset}");
        }
    }
}
