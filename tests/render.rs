//! The minijinja shims against transformers 5 + Jinja2 on small templates
//! (fixtures/goldens/shims.json, made by scripts/goldens/make_shims.py), and
//! the step-04 specifics of the two fixture templates.

use crate::util::{fixture, frozen_clock, gpt_oss, llama, qa};
use knowmix::render::{ChatTemplate, Message, RenderError};
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
struct Shims {
    messages: Vec<Message>,
    templates: BTreeMap<String, String>,
    rendered: BTreeMap<String, String>,
}

fn shims() -> Shims {
    let text = std::fs::read_to_string(fixture("goldens/shims.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn render(source: &str, messages: &[Message]) -> Result<String, RenderError> {
    ChatTemplate::with_clock(source, "<|begin_of_text|>", "<|eot_id|>", frozen_clock())?
        .render(messages)
}

/// tojson (separators, indent, sort_keys, ensure_ascii, floats), trim and
/// str.strip (Python whitespace incl. \x1c-\x1f), strftime_now, loop
/// controls, context variables, message keys: all as transformers renders.
#[test]
fn shims_match_transformers() {
    let shims = shims();
    let mut failures = Vec::new();
    for (name, source) in &shims.templates {
        let got = render(source, &shims.messages).unwrap_or_else(|e| format!("ERROR {e}"));
        let want = &shims.rendered[name];
        if &got != want {
            failures.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn raise_exception_is_an_error_with_the_message() {
    let shims = shims();
    assert!(shims.rendered["raise"].contains("boom: user"));
    let err = render(
        r#"{{ raise_exception("boom: " + messages[0].role) }}"#,
        &shims.messages,
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::Render(_)));
    assert!(err.to_string().contains("boom: user"), "{err}");
}

#[test]
fn tojson_does_not_html_escape() {
    let out = render(r#"{{ "<a href='x'>&</a>" | tojson }}"#, &[]).unwrap();
    assert_eq!(out, r#""<a href='x'>&</a>""#);
}

#[test]
fn bad_template_is_a_compile_error() {
    let err = ChatTemplate::new("{% if %}", "", "").unwrap_err();
    assert!(matches!(err, RenderError::Compile(_)), "{err}");
}

#[test]
fn default_clock_renders_todays_local_date() {
    let source =
        std::fs::read_to_string(fixture("tokenizers/gpt-oss/chat_template.jinja")).unwrap();
    let t = ChatTemplate::new(&source, "<|startoftext|>", "<|return|>").unwrap();
    let today = chrono::Local::now()
        .format("Current date: %Y-%m-%d")
        .to_string();
    assert!(t.render(&qa("q", "a", Some(""))).unwrap().contains(&today));
}

/// Llama 3.1 trims with Python's strip (\x1c-\x1f go) and ignores thinking.
#[test]
fn llama_trims_like_python_and_ignores_thinking() {
    let t = &llama().template;
    let with = t
        .render(&qa("\x1c q \u{3000}", "\x1f a", Some("reasoning")))
        .unwrap();
    let without = t.render(&qa("q", "a", None)).unwrap();
    assert_eq!(with, without);
    assert!(
        with.ends_with("<|start_header_id|>assistant<|end_header_id|>\n\na<|eot_id|>"),
        "{with:?}"
    );
    assert!(with.contains("Today Date: 26 Jul 2024"));
}

/// gpt-oss renders an analysis channel for a present thinking, even "".
#[test]
fn gpt_oss_renders_thinking_key_even_empty() {
    let t = &gpt_oss().template;
    let empty = t.render(&qa("q", "a", Some(""))).unwrap();
    assert!(
        empty.contains("<|start|>assistant<|channel|>analysis<|message|><|end|>"),
        "{empty:?}"
    );
    let none = t.render(&qa("q", "a", None)).unwrap();
    assert!(!none.contains("analysis<|message|>"), "{none:?}");
    assert!(none.contains("Current date: 2026-01-15"));
}

/// gpt-oss refuses channel tags inside assistant content (raise_exception).
#[test]
fn gpt_oss_rejects_channel_tags_in_content() {
    let err = gpt_oss()
        .template
        .render(&qa("q", "<|channel|>final<|message|>x", Some("")))
        .unwrap_err();
    assert!(err.to_string().contains("<|channel|> tags"), "{err}");
}

/// The values transformers passes besides the messages are environment
/// globals: a template's `set` shadows them for that render only.
#[test]
fn a_set_in_one_render_does_not_reach_the_next() {
    let t = ChatTemplate::with_clock(
        "{% if tools is none %}{% set tools = ['x'] %}none:{{ tools|length }}{% else %}leaked{% endif %}",
        "<s>",
        "</s>",
        frozen_clock(),
    )
    .unwrap();
    for _ in 0..2 {
        assert_eq!(t.render(&qa("q", "a", None)).unwrap(), "none:1");
    }
}
