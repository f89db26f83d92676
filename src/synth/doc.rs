//! The content of one raw document and everything sdg_hub would generate from
//! it: distinct extractive and detailed summaries with their QA pairs, a
//! key-facts block with QA per fact, and QA on the raw chunk. The shapes
//! (how many summaries, how many QA each) are drawn here; serialisation is in
//! `rows`.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::json::{self, Encoding};
use super::text::{Text, DOMAINS};

/// How big and how varied each raw document's output is.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Most distinct summaries per raw document and summary dataset.
    pub max_summaries: usize,
    /// Most QA pairs per summary.
    pub max_qa: usize,
    /// Messages in the wide `raw_summary` column.
    pub wide_messages: usize,
}

/// One (question, response, reasoning) triple as generated.
pub struct Qa {
    /// The question.
    pub question: String,
    /// The raw response, markers and whitespace included.
    pub response: String,
    /// The reasoning trace.
    pub reasoning: String,
}

/// A summary (or key fact) and the QA generated on it, in generation order.
pub struct Summary {
    /// The summary text (the `document` column).
    pub text: String,
    /// Its QA pairs.
    pub qas: Vec<Qa>,
}

/// One raw document (a chunk of the source) and its generated content.
pub struct RawDoc {
    /// Position in the corpus, from 0.
    pub index: usize,
    /// The title (`document_outline`).
    pub outline: String,
    /// The `domain` column.
    pub domain: &'static str,
    /// The source chunk (`raw_document`, or `base_document`).
    pub chunk: String,
    /// Which in-context-learning example set the rows carry.
    pub icl: usize,
    /// The `raw_summary` column, serialised once (UTF-8 encoding).
    pub raw_summary: Vec<u8>,
    /// The `summary_prompt` column, serialised once (UTF-8 encoding).
    pub summary_prompt: Vec<u8>,
    /// Distinct extractive summaries.
    pub extractive: Vec<Summary>,
    /// Distinct detailed summaries.
    pub detailed: Vec<Summary>,
    /// Key facts, each with its QA.
    pub key_facts: Vec<Summary>,
    /// QA on the chunk itself.
    pub doc_qa: Vec<Qa>,
}

impl RawDoc {
    /// The key-facts block: the `document` of every key-facts row.
    pub fn key_facts_block(&self) -> String {
        let mut block = String::from("Key facts:\n");
        for (i, fact) in self.key_facts.iter().enumerate() {
            block.push_str(&format!("{}. {}\n", i + 1, fact.text));
        }
        block
    }
}

/// Generate raw document `index`. `prev` is the one before it: every few
/// documents one summary is copied from it, so the same summary text appears
/// under two raw documents.
pub fn generate(
    index: usize,
    rng: &mut ChaCha8Rng,
    shape: &Shape,
    prev: Option<&RawDoc>,
) -> RawDoc {
    let mut t = Text::new(rng);
    let outline = t.outline(index);
    let domain = DOMAINS[t.rng().random_range(0..DOMAINS.len())];
    let chunk = t.paragraph(6, 16);
    let icl = t.rng().random_range(0..ICL_SETS);
    let raw_summary = wide_messages(&mut t, shape.wide_messages);
    let mut summary_prompt = Vec::new();
    let user = format!("Document:\n{chunk}\n\nSummarise the document above.");
    json::messages(
        &mut summary_prompt,
        &[("system", SYSTEM), ("user", &user)],
        Encoding::Utf8,
    );
    let mut extractive = summaries(&mut t, shape, &outline);
    let mut detailed = summaries(&mut t, shape, &outline);
    if let Some(prev) = prev {
        if index % 7 == 3 {
            extractive[0].text = prev.extractive.last().expect("never empty").text.clone();
        }
        if index % 7 == 5 {
            detailed[0].text = prev.detailed[0].text.clone();
        }
    }
    let n_facts = t.rng().random_range(2..=6);
    let key_facts = (0..n_facts)
        .map(|_| {
            let text = t.paragraph(1, 1);
            let n = t.rng().random_range(1..=3);
            Summary {
                qas: qas(&mut t, n, &outline),
                text,
            }
        })
        .collect();
    let n = t.rng().random_range(2..=shape.max_qa.max(1) + 1);
    let doc_qa = qas(&mut t, n, &outline);
    RawDoc {
        index,
        outline,
        domain,
        chunk,
        icl,
        raw_summary,
        summary_prompt,
        extractive,
        detailed,
        key_facts,
        doc_qa,
    }
}

/// Distinct summaries: the count is the larger of two uniform draws in
/// `1..=max_summaries` (mean about 5.8 for 8), each with `1..=max_qa` QA.
fn summaries(t: &mut Text<'_>, shape: &Shape, outline: &str) -> Vec<Summary> {
    let hi = shape.max_summaries.max(1);
    let a = t.rng().random_range(1..=hi);
    let b = t.rng().random_range(1..=hi);
    (0..a.max(b))
        .map(|i| {
            let mut text = format!("Summary {}: ", i + 1);
            text.push_str(&t.paragraph(2, 5));
            let n = t.rng().random_range(1..=shape.max_qa.max(1));
            Summary {
                qas: qas(t, n, outline),
                text,
            }
        })
        .collect()
}

fn qas(t: &mut Text<'_>, n: usize, outline: &str) -> Vec<Qa> {
    (0..n)
        .map(|_| Qa {
            question: t.question(outline),
            response: t.response(),
            reasoning: t.reasoning(),
        })
        .collect()
}

/// The `raw_summary` column: `n` alternating user/assistant messages.
fn wide_messages(t: &mut Text<'_>, n: usize) -> Vec<u8> {
    let contents: Vec<String> = (0..n).map(|_| t.paragraph(3, 7)).collect();
    let msgs: Vec<(&str, &str)> = contents
        .iter()
        .enumerate()
        .map(|(i, c)| (if i % 2 == 0 { "user" } else { "assistant" }, c.as_str()))
        .collect();
    let mut out = Vec::with_capacity(n * 700);
    json::messages(&mut out, &msgs, Encoding::Utf8);
    out
}

/// How many in-context-learning example sets exist.
pub const ICL_SETS: usize = 3;

/// The system prompt carried in the `*_prompt` columns.
pub const SYSTEM: &str = "You are an AI assistant that is expert at summarizing text. \
Give an answer that is faithful to the document; do not add facts. \
Write \"[END]\" when done.";

/// One in-context-learning example set (the `icl_*` columns).
pub struct Icl {
    /// `icl_document`.
    pub document: String,
    /// `icl_query_1..3`.
    pub queries: [String; 3],
    /// `icl_response_1..3`.
    pub responses: [String; 3],
}

/// The ICL example sets, drawn from `rng`.
pub fn icl_sets(rng: &mut ChaCha8Rng) -> Vec<Icl> {
    let mut t = Text::new(rng);
    (0..ICL_SETS)
        .map(|_| Icl {
            document: t.paragraph(4, 8),
            queries: std::array::from_fn(|_| t.question("the example")),
            responses: std::array::from_fn(|_| t.paragraph(1, 2)),
        })
        .collect()
}
