//! Every golden conversation renders to exactly the text transformers 5
//! rendered, and counts exactly the ids transformers' `encode` returned
//! (fixtures/goldens, made by scripts/goldens/make_goldens.py).

use crate::util::{first_diff, fixture, gpt_oss, llama, Loaded};
use knowmix::render::Message;
use knowmix::tokenize::TokenCount;
use serde::Deserialize;

#[derive(Deserialize)]
struct Conversation {
    id: usize,
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Golden {
    id: usize,
    rendered: String,
    token_length: usize,
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = fixture(&format!("goldens/{name}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn conversations() -> Vec<Conversation> {
    read_jsonl("conversations.jsonl")
}

/// Compares every golden; reports all mismatches at once.
fn check(name: &str, tok: &Loaded) {
    check_with(name, &tok.template, &tok.counter);
}

/// [`check`] with any template and counter.
fn check_with(name: &str, template: &knowmix::render::ChatTemplate, counter: &dyn TokenCount) {
    let convs = conversations();
    let goldens: Vec<Golden> = read_jsonl(&format!("{name}.jsonl"));
    assert_eq!(convs.len(), goldens.len());
    assert!(convs.len() >= 300, "expected a few hundred goldens");
    let mut failures = Vec::new();
    for (conv, golden) in convs.iter().zip(&goldens) {
        assert_eq!(conv.id, golden.id);
        let rendered = template.render(&conv.messages).unwrap();
        if rendered != golden.rendered {
            failures.push(format!(
                "#{} render: {}",
                conv.id,
                first_diff(&rendered, &golden.rendered)
            ));
            continue;
        }
        let n = counter.count(&golden.rendered);
        if n != golden.token_length {
            failures.push(format!(
                "#{} token_length {n}, want {}",
                conv.id, golden.token_length
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} goldens differ:\n{}",
        failures.len(),
        convs.len(),
        failures.join("\n")
    );
}

#[test]
fn llama_goldens_render_and_count_exactly() {
    check("llama-3.1-instruct", llama());
}

#[test]
fn gpt_oss_goldens_render_and_count_exactly() {
    check("gpt-oss", gpt_oss());
}

/// The other families with a chat template (zstd-compressed fixtures),
/// rendered as transformers renders them and counted by the fast counter
/// (which `FastCounter` must support for them).
#[test]
fn qwen3_deepseek_gemma3_goldens_render_and_count_exactly() {
    for name in ["qwen3", "deepseek-v3", "gemma3"] {
        let dir = fixture(&format!("tokenizers/{name}"));
        let resolved = knowmix::tokenize::resolve::resolve(dir.to_str().unwrap()).unwrap();
        let template = resolved
            .chat_template_with_clock(crate::util::frozen_clock())
            .unwrap();
        let fast =
            knowmix::tokenize::fast::FastCounter::from_tokenizer_json(&resolved.tokenizer_json)
                .unwrap()
                .expect("the fast counter supports this family");
        check_with(name, &template, &fast);
    }
}

/// `encode_fast` (no offsets) and `encode` must agree on every golden.
#[test]
fn encode_fast_and_encode_agree() {
    for (name, tok) in [("llama-3.1-instruct", llama()), ("gpt-oss", gpt_oss())] {
        for golden in read_jsonl::<Golden>(&format!("{name}.jsonl")) {
            let ids = tok.counter.ids(&golden.rendered).unwrap();
            assert_eq!(
                ids.len(),
                tok.counter.try_count(&golden.rendered).unwrap(),
                "{name} #{}",
                golden.id
            );
        }
    }
}

/// Renders the same conversations from several threads sharing one template.
#[test]
fn render_is_thread_safe() {
    let convs = conversations();
    let tok = gpt_oss();
    let want: Vec<String> = convs
        .iter()
        .map(|c| tok.template.render(&c.messages).unwrap())
        .collect();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (convs, want) = (&convs, &want);
            s.spawn(move || {
                for (i, c) in convs.iter().enumerate().skip(t).step_by(2) {
                    assert_eq!(tok.template.render(&c.messages).unwrap(), want[i]);
                }
            });
        }
    });
}
