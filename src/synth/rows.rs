//! Serialising a raw document's content into wide step-03 rows, one JSON
//! line each, with the columns sdg_hub flows leave behind. Column order
//! differs between datasets, and the columns step 04 reads sit between large
//! ones that it must skip.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::doc::{Icl, Qa, RawDoc, Summary, SYSTEM};
use super::json::{self, Encoding, Obj};
use super::Dataset;

/// What every row builder needs besides the document.
pub struct Ctx<'a> {
    /// The ICL example sets.
    pub icl: &'a [Icl],
    /// Whether to write `parse_response_dict_reasoning_content`.
    pub reasoning: bool,
}

/// Append `doc`'s rows for `dataset` to `out`, one buffer per row, each
/// ending with `\n`.
pub fn rows(
    doc: &RawDoc,
    dataset: Dataset,
    ctx: &Ctx<'_>,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Vec<u8>>,
) {
    match dataset {
        Dataset::Extractive => summary_rows(doc, &doc.extractive, "extractive", ctx, rng, out),
        Dataset::Detailed => summary_rows(doc, &doc.detailed, "detailed", ctx, rng, out),
        Dataset::KeyFacts => key_fact_rows(doc, ctx, rng, out),
        Dataset::DocumentQa => doc_qa_rows(doc, ctx, rng, out),
    }
}

fn head(o: &mut Obj<'_>, doc: &RawDoc, icl: &Icl) {
    o.str("document_outline", &doc.outline)
        .str("domain", doc.domain);
    o.str("icl_document", &icl.document);
    for i in 0..3 {
        o.str(&format!("icl_query_{}", i + 1), &icl.queries[i]);
        o.str(&format!("icl_response_{}", i + 1), &icl.responses[i]);
    }
}

fn prompt(text: &str, task: &str, enc: Encoding) -> Vec<u8> {
    let user = format!("{text}\n\n{task}");
    let mut out = Vec::with_capacity(user.len() + 256);
    json::messages(&mut out, &[("system", SYSTEM), ("user", &user)], enc);
    out
}

fn answer(o: &mut Obj<'_>, qa: &Qa, ctx: &Ctx<'_>, rng: &mut ChaCha8Rng) {
    o.str("question", &qa.question)
        .str("response", &qa.response);
    let prompt_tokens = rng.random_range(200..4000i64);
    let completion_tokens = rng.random_range(10..800i64);
    o.obj("parse_response_dict", |d| {
        d.str("question", &qa.question)
            .str("response", &qa.response);
        d.obj("meta", |m| {
            m.str("model", "synthetic/llm-7b")
                .str("finish_reason", "stop")
                .int("index", 0);
            m.obj("usage", |u| {
                u.int("prompt_tokens", prompt_tokens)
                    .int("completion_tokens", completion_tokens);
            });
        });
        d.null("logprobs");
    });
    if ctx.reasoning {
        o.str("parse_response_dict_reasoning_content", &qa.reasoning);
    }
}

fn tail(o: &mut Obj<'_>, rng: &mut ChaCha8Rng) {
    o.int("num_samples", rng.random_range(1..60i64));
    o.float("temperature", 0.7);
    o.float("score", f64::from(rng.random_range(0..1000u32)) / 1000.0);
    o.null("error");
    o.bool("is_valid", rng.random_bool(0.9));
}

fn summary_rows(
    doc: &RawDoc,
    summaries: &[Summary],
    kind: &str,
    ctx: &Ctx<'_>,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Vec<u8>>,
) {
    let icl = &ctx.icl[doc.icl];
    for s in summaries {
        let qp = prompt(
            &s.text,
            "Write questions about this summary.",
            Encoding::Utf8,
        );
        for qa in &s.qas {
            let mut row = Vec::with_capacity(doc.raw_summary.len() + 8192);
            let mut o = Obj::new(&mut row, Encoding::Utf8);
            head(&mut o, doc, icl);
            o.str("raw_document", &doc.chunk);
            o.raw("raw_summary", &doc.raw_summary);
            o.str("summary_type", kind);
            o.str("document", &s.text);
            o.raw("summary_prompt", &doc.summary_prompt);
            o.raw("question_prompt", &qp);
            answer(&mut o, qa, ctx, rng);
            tail(&mut o, rng);
            o.close();
            row.push(b'\n');
            out.push(row);
        }
    }
}

fn key_fact_rows(doc: &RawDoc, ctx: &Ctx<'_>, rng: &mut ChaCha8Rng, out: &mut Vec<Vec<u8>>) {
    let icl = &ctx.icl[doc.icl];
    let block = doc.key_facts_block();
    for fact in &doc.key_facts {
        for qa in &fact.qas {
            let mut row = Vec::with_capacity(doc.raw_summary.len() + 8192);
            let mut o = Obj::new(&mut row, Encoding::Utf8);
            o.raw("raw_summary", &doc.raw_summary);
            head(&mut o, doc, icl);
            o.str("document", &block);
            o.str("key_fact", &fact.text);
            o.raw("key_facts_prompt", &doc.summary_prompt);
            answer(&mut o, qa, ctx, rng);
            o.str("raw_document", &doc.chunk);
            tail(&mut o, rng);
            o.close();
            row.push(b'\n');
            out.push(row);
        }
    }
}

/// Document-based QA is written the way pandas writes JSON (ASCII-only,
/// `\/`), so readers meet both encodings.
fn doc_qa_rows(doc: &RawDoc, ctx: &Ctx<'_>, rng: &mut ChaCha8Rng, out: &mut Vec<Vec<u8>>) {
    let icl = &ctx.icl[doc.icl];
    let qp = prompt(
        &doc.chunk,
        "Write questions about this document.",
        Encoding::Ascii,
    );
    for qa in &doc.doc_qa {
        let mut row = Vec::with_capacity(qp.len() * 2 + 8192);
        let mut o = Obj::new(&mut row, Encoding::Ascii);
        head(&mut o, doc, icl);
        o.str("base_document", &doc.chunk);
        o.raw("qa_prompt", &qp);
        o.str("document", &doc.chunk);
        answer(&mut o, qa, ctx, rng);
        tail(&mut o, rng);
        o.close();
        row.push(b'\n');
        out.push(row);
    }
}
