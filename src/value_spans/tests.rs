use proptest::prelude::*;

use super::*;
use crate::error::Location;
use crate::read::fields::FieldValue;
use crate::read::scan::Scanner;

fn at() -> Location {
    crate::read::fields::location(&std::path::PathBuf::from("t.jsonl"), 1)
}

/// What `columns` read as in `line`, as (type, text) pairs.
fn read_columns(line: &[u8], columns: &[String]) -> Vec<(String, String)> {
    let bytes = line.to_vec();
    let mut scanner = Scanner::default();
    let row = scanner.scan(&bytes, at).expect("valid line");
    columns
        .iter()
        .map(|c| match row.get(c) {
            FieldValue::Str(s) => ("str".into(), s.to_owned()),
            other => (other.type_name().into(), String::new()),
        })
        .collect()
}

/// The compact line pass 2 builds for `line`: scan it, note the extents,
/// read them back from the original bytes as the pick reader does (which
/// reads the whole line when no column is there).
fn compact_of(line: &[u8], columns: &[String]) -> Vec<u8> {
    let bytes = line.to_vec();
    let mut scanner = Scanner::default();
    let row = scanner.scan(&bytes, at).expect("valid line");
    let spans = ValueSpans::new(columns.iter().map(|c| row.extent(c)));
    if !spans.is_known() {
        return line.to_vec();
    }
    assert!(spans.fits(line.len()));
    let reads = spans.reads();
    let chunks: Vec<_> = reads
        .iter()
        .map(|r| (r.clone(), &line[r.clone()]))
        .collect();
    let mut out = Vec::new();
    compact_line(columns, &spans, &chunks, &mut out);
    out
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn compact_line_keeps_needed_values_verbatim() {
    let line = br#"{ "q" : "a\"b\u00e9" , "skip":[1,{"q":"no"}], "r":null, "q":"second", "k\u0065y":"v\n" }"#;
    let columns = names(&["q", "r", "key", "absent"]);
    let compact = compact_of(line, &columns);
    assert_eq!(
        std::str::from_utf8(&compact).unwrap(),
        r#"{"q":"second","r":null,"key":"v\n"}"#
    );
    assert_eq!(
        read_columns(&compact, &columns),
        read_columns(line, &columns)
    );
}

#[test]
fn reads_join_close_values_and_split_far_ones() {
    let spans = ValueSpans::new([
        Some(10..20),
        None,
        Some(30..40),
        Some(40 + JOIN_GAP + 1..40 + JOIN_GAP + 5),
        Some(0..5),
    ]);
    assert_eq!(
        spans.reads(),
        vec![0..40, 40 + JOIN_GAP + 1..40 + JOIN_GAP + 5]
    );
    assert!(spans.fits(40 + JOIN_GAP + 5));
    assert!(!spans.fits(40 + JOIN_GAP + 4));
}

#[test]
fn unrepresentable_spans_are_unknown() {
    assert!(!ValueSpans::new(vec![Some(1..2); MAX_COLUMNS + 1]).is_known());
    let huge = u32::MAX as usize + 1;
    assert!(!ValueSpans::new([Some(huge..huge + 1)]).is_known());
    assert!(!ValueSpans::new([None, None]).is_known());
    assert!(!ValueSpans::default().fits(100));
}

#[test]
fn index_round_trips_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpansWriter::create(dir.path()).unwrap();
    let rows: Vec<ValueSpans> = (0..1000u32)
        .map(|i| {
            if i % 7 == 0 {
                ValueSpans::default()
            } else {
                let i = i as usize;
                ValueSpans::new([Some(i..i + 3), None, Some(i * 2 + 9..i * 3 + 10)])
            }
        })
        .collect();
    for row in &rows {
        writer.push(row).unwrap();
    }
    assert_eq!(writer.rows(), 1000);
    let index = writer.finish().unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(index.get(i as u64), *row);
    }
    assert!(!index.get(1000).is_known());
    assert!(!index.get(u64::MAX).is_known());
    let empty = SpansWriter::create(dir.path()).unwrap().finish().unwrap();
    assert!(!empty.get(0).is_known());
}

/// A JSON value's text: strings with escapes and raw non-ASCII, numbers,
/// literals, and nested containers holding the needed names as keys.
fn value() -> impl Strategy<Value = String> {
    let string = prop::collection::vec(
        prop_oneof![
            "[a-z ]{0,6}".prop_map(|s| s),
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            Just("\\n".to_owned()),
            Just("\\u00e9".to_owned()),
            Just("\\ud83d\\ude80".to_owned()),
            Just("é🚀".to_owned()),
        ],
        0..6,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()));
    let leaf = prop_oneof![
        string,
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("-1.5e3".to_owned()),
        Just("42".to_owned()),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[qrd]", inner), 0..4).prop_map(|v| {
                let members: Vec<String> =
                    v.into_iter().map(|(k, x)| format!("\"{k}\":{x}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// A key: one of the needed names (sometimes written with an escape), or
/// another.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"q\"".to_owned()),
        Just("\"\\u0071\"".to_owned()),
        Just("\"r\"".to_owned()),
        Just("\"d\"".to_owned()),
        Just("\"other\"".to_owned()),
        "[a-z]{1,3}".prop_map(|k| format!("\"{k}\"")),
    ]
}

proptest! {
    /// Whatever the row (member order, duplicates, whitespace, escapes,
    /// nesting), its compact line reads the same for every needed column.
    #[test]
    fn compact_lines_read_like_their_rows(
        members in prop::collection::vec((key(), value()), 0..8),
        pad in "[ \t]{0,2}",
    ) {
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{pad}{k}{pad}:{pad}{v}{pad}"))
            .collect();
        let line = format!("{pad}{{{}}}{pad}", body.join(","));
        let columns = names(&["q", "r", "d", "absent"]);
        let compact = compact_of(line.as_bytes(), &columns);
        prop_assert_eq!(
            read_columns(&compact, &columns),
            read_columns(line.as_bytes(), &columns)
        );
    }
}
