//! What `recipe` tells the user: per source, what it holds (population),
//! what the recipe asked, what was drawn (distinct records, copies, tokens)
//! and its target versus observed share of the mix; as a table on stderr
//! (so `-o -` pipes stay clean) and as a JSON manifest that also echoes the
//! recipe with its sha256, the seed and the files written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::config::{Ask, Loaded};
use super::draw::Draw;
use super::plan::{Population, Request};
use super::shards::Written;

/// One source's line in the report.
#[derive(Debug, Clone)]
pub struct SourceReport {
    /// `path` as written in the recipe.
    pub name: String,
    /// The files it matched.
    pub files: Vec<PathBuf>,
    /// Its ask.
    pub ask: Ask,
    /// Its copy cap.
    pub max_repeats: Option<u32>,
    /// Pass-1 counts.
    pub population: Population,
    /// Records without `token_length` (counted as 0).
    pub missing_tokens: u64,
    /// The planned request.
    pub request: Request,
    /// The draw (selected, copies, tokens).
    pub draw: Draw,
}

/// The whole run.
pub struct Report<'a> {
    /// The recipe.
    pub recipe: &'a Loaded,
    /// Seed.
    pub seed: u64,
    /// Shuffled or source order.
    pub shuffle: bool,
    /// Per source, in recipe order.
    pub sources: Vec<SourceReport>,
    /// Files written.
    pub outputs: Vec<Written>,
    /// Wall time.
    pub elapsed: Duration,
}

fn share(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64
    }
}

impl Report<'_> {
    fn totals(&self) -> (u64, u64) {
        self.sources
            .iter()
            .fold((0, 0), |(r, t), s| (r + s.draw.copies, t + s.draw.tokens))
    }

    /// Each weighted source's normalised weight (its target share of the
    /// weighted part of the mix); `None` for the others.
    fn target_shares(&self) -> Vec<Option<f64>> {
        let sum: f64 = self.sources.iter().filter_map(|s| weight(s.ask)).sum();
        self.sources
            .iter()
            .map(|s| weight(s.ask).map(|w| w / sum))
            .collect()
    }

    /// The summary table, as lines of text.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let (records, tokens) = self.totals();
        let _ = writeln!(
            out,
            "{:<28} {:>11} {:>11} {:>11} {:>14} {:>7} {:>9} {:>9}",
            "source", "population", "selected", "copies", "tokens", "target", "records%", "tokens%"
        );
        for (s, target) in self.sources.iter().zip(self.target_shares()) {
            let target = target.map_or("-".to_owned(), |t| format!("{:.1}%", 100.0 * t));
            let _ = writeln!(
                out,
                "{:<28} {:>11} {:>11} {:>11} {:>14} {:>7} {:>8.1}% {:>8.1}%",
                truncate(&s.name, 28),
                s.population.records,
                s.draw.selected,
                s.draw.copies,
                s.draw.tokens,
                target,
                100.0 * share(s.draw.copies, records),
                100.0 * share(s.draw.tokens, tokens),
            );
        }
        let _ = writeln!(
            out,
            "{:<28} {:>11} {:>11} {:>11} {:>14}",
            "total", "", "", records, tokens
        );
        for w in &self.outputs {
            let _ = writeln!(
                out,
                "wrote {} ({} records, {} bytes)",
                w.path.display(),
                w.records,
                w.bytes
            );
        }
        out
    }

    /// The manifest as JSON.
    pub fn manifest(&self) -> Value {
        let (records, tokens) = self.totals();
        let sources: Vec<Value> = self.sources.iter().zip(self.target_shares()).map(|(s, target)| {
            json!({
                "path": s.name,
                "files": s.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
                "ask": ask_json(s.ask),
                "max_repeats": s.max_repeats,
                "population": {"records": s.population.records, "tokens": s.population.tokens},
                "records_without_token_length": s.missing_tokens,
                "request": match s.request {
                    Request::Records(n) => json!({"records": n}),
                    Request::Tokens(n) => json!({"tokens": n}),
                },
                "whole_copies": s.draw.whole,
                "extra_copies": s.draw.extra,
                "selected": s.draw.selected,
                "copies": s.draw.copies,
                "tokens": s.draw.tokens,
                "target_share": target,
                "observed_share": {"records": share(s.draw.copies, records), "tokens": share(s.draw.tokens, tokens)},
            })
        }).collect();
        json!({
            "knowmix_version": env!("CARGO_PKG_VERSION"),
            "recipe": {
                "path": self.recipe.path.display().to_string(),
                "sha256": format!("{:x}", Sha256::digest(self.recipe.text.as_bytes())),
                "text": self.recipe.text,
            },
            "seed": self.seed,
            "order": if self.shuffle { "shuffled" } else { "source" },
            "sources": sources,
            "total": {"records": records, "tokens": tokens},
            "outputs": self.outputs.iter().map(|w| json!({
                "path": w.path.display().to_string(), "records": w.records, "bytes": w.bytes,
            })).collect::<Vec<_>>(),
            "elapsed_seconds": self.elapsed.as_secs_f64(),
        })
    }

    /// Write the manifest atomically.
    pub fn write_manifest(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&self.manifest())?;
        bytes.push(b'\n');
        crate::write::write_small_atomic(path, &bytes)?;
        Ok(())
    }
}

fn weight(ask: Ask) -> Option<f64> {
    match ask {
        Ask::Weight(w) => Some(w),
        _ => None,
    }
}

fn ask_json(ask: Ask) -> Value {
    match ask {
        Ask::Count(n) => json!({"sampling_size": n}),
        Ask::Ratio(r) => json!({"sampling_size": r}),
        Ask::Tokens(t) => json!({"tokens": t}),
        Ask::Weight(w) => json!({"weight": w}),
    }
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let tail: String = s
        .chars()
        .rev()
        .take(width - 1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}
