//! Unit tests pinning every step-04 format rule.

use super::*;

fn json(s: &str, style: JsonStyle) -> String {
    let mut out = Vec::new();
    push_json_string(&mut out, s, style);
    String::from_utf8(out).unwrap()
}

#[test]
fn dataset_order_and_folders_follow_spec() {
    let folders: Vec<_> = Dataset::ALL.iter().map(|d| d.folder()).collect();
    assert_eq!(
        folders,
        [
            "extractive_summary",
            "detailed_summary",
            "key_facts_to_qa",
            "document_based_qa"
        ]
    );
    assert!(Dataset::ExtractiveSummary.is_sampled());
    assert!(Dataset::DetailedSummary.is_sampled());
    assert!(!Dataset::KeyFactsToQa.is_sampled());
    assert!(!Dataset::DocumentBasedQa.is_sampled());
    assert_eq!(
        Dataset::DocumentBasedQa.raw_document_column(),
        "base_document"
    );
    assert_eq!(Dataset::KeyFactsToQa.raw_document_column(), "raw_document");
}

#[test]
fn user_content_per_dataset() {
    for d in [
        Dataset::ExtractiveSummary,
        Dataset::DetailedSummary,
        Dataset::DocumentBasedQa,
    ] {
        assert_eq!(d.user_content("T", "Doc", "Q?"), "T\nDoc\n\nQ?");
    }
    assert_eq!(
        Dataset::KeyFactsToQa.user_content("T", "Doc", "Q?"),
        "In T, Q?"
    );
    assert_eq!(Dataset::DetailedSummary.user_content("", "", ""), "\n\n\n");
}

#[test]
fn clean_response_removes_markers_then_trims() {
    assert_eq!(clean_response("  Paris [END] ", false), "Paris");
    assert_eq!(clean_response("[ANSWER] Paris[END]\n", false), "Paris");
    assert_eq!(clean_response("a[END]b[END]c", false), "abc");
    // [END] goes first, so a split [ANSWER] is joined then removed.
    assert_eq!(clean_response("[ANS[END]WER]x", false), "x");
    // ... but an [END] built by removing [ANSWER] survives.
    assert_eq!(clean_response("[EN[ANSWER]D]x", false), "[END]x");
    assert_eq!(clean_response("", false), "");
    assert_eq!(clean_response("[END]", false), "");
}

#[test]
fn clean_response_trim_matches_polars_not_python() {
    // polars strip_chars keeps the information separators.
    assert_eq!(clean_response("\x1cx\x1f", false), "\x1cx\x1f");
    // Unicode White_Space goes.
    assert_eq!(clean_response("\u{3000}\u{a0}x\u{2029}\u{85}", false), "x");
    // Zero-width space is not whitespace for either.
    assert_eq!(clean_response("\u{200b}x", false), "\u{200b}x");
}

#[test]
fn clean_response_gpt_oss_runs_the_filter_cleaning_first() {
    assert_eq!(clean_response("\x1c x [END] \x1f", true), "x");
    // The filter removes markers before its Python strip, so separators
    // behind a marker go too (polars alone would keep them).
    assert_eq!(clean_response("[END]\x1cx", true), "x");
    assert_eq!(clean_response("[END]\x1cx", false), "\x1cx");
    // Its order is [ANSWER] then [END]: a nested [AN[END]SWER] survives
    // the filter step as [ANSWER], which the polars step then removes.
    assert_eq!(clean_response("[AN[END]SWER]x", true), "x");
    assert_eq!(clean_response("[EN[ANSWER]D]x", true), "x");
    assert_eq!(clean_response("[EN[ANSWER]D]x", false), "[END]x");
}

#[test]
fn python_strip_set() {
    assert_eq!(
        python_strip("\x1c\x1d\x1e\x1f \t\n\x0b\x0c\r x \u{2028}"),
        "x"
    );
    assert!(is_python_space('\u{85}'));
    assert!(!is_python_space('\u{200b}'));
    assert!(!is_python_space('\u{feff}'));
}

#[test]
fn gpt_oss_filter_markers() {
    assert!(gpt_oss_drops("What is...?"));
    assert!(gpt_oss_drops("<question>"));
    assert!(gpt_oss_drops("x <Insert question here> y"));
    assert!(!gpt_oss_drops("What is .. this?"));
    assert!(!gpt_oss_drops("What is \u{2026}?"));
    assert!(!gpt_oss_drops("<Question>"));
}

#[test]
fn python_json_escapes_like_json_dumps() {
    let s = |x| json(x, JsonStyle::PythonAscii);
    assert_eq!(s("a/b"), r#""a/b""#);
    assert_eq!(s("q\"b\\"), r#""q\"b\\""#);
    assert_eq!(s("\n\r\t\x08\x0c"), r#""\n\r\t\b\f""#);
    assert_eq!(s("\x00\x1f\x7f"), r#""\u0000\u001f\u007f""#);
    assert_eq!(s("é€"), r#""\u00e9\u20ac""#);
    assert_eq!(s("😀"), r#""\ud83d\ude00""#);
    assert_eq!(s(""), r#""""#);
}

#[test]
fn pandas_json_escapes_slash_and_keeps_del() {
    let p = |x| json(x, JsonStyle::Pandas);
    assert_eq!(p("a/b"), r#""a\/b""#);
    assert_eq!(p("\x7f"), "\"\x7f\"");
    assert_eq!(p("Ωx"), r#""\u03a9x""#);
    assert_eq!(p("\u{10FFFF}"), r#""\udbff\udfff""#);
}

/// The escaping rules one char at a time, as the block-at-a-time writer
/// must reproduce them.
fn reference_json(s: &str, style: JsonStyle) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if style == JsonStyle::Pandas => out.push_str("\\/"),
            '\x7f' if style == JsonStyle::Pandas => out.push(ch),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

proptest::proptest! {
    #[test]
    fn metadata_in_one_pass_is_the_python_json_escaped_again(
        document in "([a-z ./\"\\\\\x00-\x1f\x7f\u{80}-\u{7ff}é€😀]|[ -~]{8,40}){0,30}",
        raw in "([a-z ./\"\\\\\x00-\x1f\x7f\u{80}-\u{7ff}é€😀]|[ -~]{8,40}){0,30}",
    ) {
        let mut fused = Vec::new();
        push_metadata(&mut fused, &document, &raw);
        let mut twice = Vec::new();
        push_json_string(&mut twice, &metadata_string(&document, &raw), JsonStyle::Pandas);
        proptest::prop_assert_eq!(String::from_utf8(fused).unwrap(), String::from_utf8(twice).unwrap());
    }

    #[test]
    fn block_at_a_time_escaping_matches_the_rules(
        s in "([a-z ./\"\\\\\x00-\x1f\x7f\u{80}-\u{7ff}é€😀]|[ -~]{8,40}){0,40}"
    ) {
        for style in [JsonStyle::PythonAscii, JsonStyle::Pandas] {
            proptest::prop_assert_eq!(json(&s, style), reference_json(&s, style));
        }
    }
}

#[test]
fn metadata_is_python_json_dumps() {
    assert_eq!(
        metadata_string("S/é", "R\"\n"),
        r#"{"sdg_document": "S/\u00e9", "dataset": "document_knowledge_qa", "raw_document": "R\"\n"}"#
    );
}

#[test]
fn record_line_field_order_and_encoding() {
    let record = OutputRecord {
        question: "Q/?",
        document_outline: "T",
        raw_document: "r",
        document: "d",
        messages: [
            Turn {
                role: "user",
                content: "T\nd\n\nQ/?",
                thinking: None,
            },
            Turn {
                role: "assistant",
                content: "A",
                thinking: Some(""),
            },
        ],
        token_length: 42,
    };
    let mut out = Vec::new();
    push_record_line(&mut out, &record);
    let expected = concat!(
        r#"{"question":"Q\/?","document_outline":"T","raw_document":"r","document":"d","#,
        r#""messages":[{"role":"user","content":"T\nd\n\nQ\/?","thinking":null},"#,
        r#"{"role":"assistant","content":"A","thinking":""}],"#,
        r#""metadata":"{\"sdg_document\": \"d\", \"dataset\": \"document_knowledge_qa\", \"raw_document\": \"r\"}","#,
        r#""unmask":true,"token_length":42}"#,
        "\n"
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn omit_empty_thinking_writes_only_reasoning_text() {
    let turns = |thinking| {
        [
            Turn {
                role: "user",
                content: "u",
                thinking: None,
            },
            Turn {
                role: "assistant",
                content: "a",
                thinking,
            },
        ]
    };
    let line = |thinking, mode| {
        let record = OutputRecord {
            question: "q",
            document_outline: "o",
            raw_document: "r",
            document: "d",
            messages: turns(thinking),
            token_length: 1,
        };
        let mut out = Vec::new();
        push_record_line_with(&mut out, &record, mode);
        String::from_utf8(out).unwrap()
    };
    let messages =
        |l: String| l[l.find("\"messages\"").unwrap()..l.find(",\"metadata").unwrap()].to_owned();
    assert_eq!(
        messages(line(Some(""), Thinking::OmitEmpty)),
        r#""messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"}]"#
    );
    assert_eq!(
        messages(line(None, Thinking::OmitEmpty)),
        r#""messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"}]"#
    );
    assert_eq!(
        messages(line(Some("why"), Thinking::OmitEmpty)),
        r#""messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","thinking":"why"}]"#
    );
    // Keep is the notebook's bytes, and what push_record_line writes.
    assert_eq!(
        messages(line(Some(""), Thinking::Keep)),
        r#""messages":[{"role":"user","content":"u","thinking":null},{"role":"assistant","content":"a","thinking":""}]"#
    );
}

#[test]
fn record_line_parses_back_to_the_same_values() {
    let record = OutputRecord {
        question: "q\u{7f}",
        document_outline: "o/\\",
        raw_document: "r😀",
        document: "dé\u{1}",
        messages: [
            Turn {
                role: "user",
                content: "x",
                thinking: None,
            },
            Turn {
                role: "assistant",
                content: "y",
                thinking: Some("t\u{2028}"),
            },
        ],
        token_length: 7,
    };
    let mut out = Vec::new();
    push_record_line(&mut out, &record);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["question"], "q\u{7f}");
    assert_eq!(v["document_outline"], "o/\\");
    assert_eq!(v["raw_document"], "r😀");
    assert_eq!(v["messages"][1]["thinking"], "t\u{2028}");
    let m: serde_json::Value = serde_json::from_str(v["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(m["sdg_document"], "dé\u{1}");
    assert_eq!(m["dataset"], "document_knowledge_qa");
    assert_eq!(v["token_length"], 7);
    assert_eq!(v["unmask"], true);
}

#[test]
fn cut_file_names() {
    assert_eq!(cut_file_name(5), "combined_cut_5x.jsonl");
}
