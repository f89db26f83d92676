//! What `mix` tells the user: which cuts are feasible and why not, the
//! per-cut, per-dataset table the notebook prints, and `manifest.json`
//! (inputs, parameters, tokenizer fingerprint, results) beside the outputs.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::options::Plan;
use super::pass1::Selection;
use super::pass2::{Outcome, Tally};
use crate::format::{Dataset, LengthRule};
use crate::shard::PlannedDataset;

/// Which cuts can be written.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Feasibility {
    /// Feasible cut sizes, ascending.
    pub feasible: Vec<u32>,
    /// Infeasible cut sizes with the reason.
    pub infeasible: Vec<(u32, String)>,
    /// Mean distinct summaries per raw document, per sampled dataset.
    pub means: Vec<(Dataset, f64)>,
}

impl Feasibility {
    /// A cut N is feasible when every sampled dataset has a mean of at
    /// least N distinct summaries per raw document.
    pub fn decide(cuts: &[u32], selections: &[Selection]) -> Self {
        let means: Vec<(Dataset, f64)> = selections
            .iter()
            .map(|s| (s.dataset, s.stats.mean_summaries()))
            .collect();
        Self::from_means(cuts, means)
    }

    /// [`Feasibility::decide`] from known means (a previous manifest's).
    pub fn from_means(cuts: &[u32], means: Vec<(Dataset, f64)>) -> Self {
        let mut out = Feasibility {
            means: means.clone(),
            ..Default::default()
        };
        for &n in cuts {
            let short: Vec<String> = means
                .iter()
                .filter(|(_, mean)| !crate::select::feasible(*mean, n))
                .map(|(d, mean)| {
                    format!(
                        "{} averages {mean:.2} summaries per raw document",
                        d.folder()
                    )
                })
                .collect();
            if short.is_empty() {
                out.feasible.push(n);
            } else {
                out.infeasible.push((n, short.join(", ")));
            }
        }
        out
    }

    /// Human lines: one per infeasible cut.
    pub fn explain(&self) -> Vec<String> {
        self.infeasible
            .iter()
            .map(|(n, why)| format!("cut {n}: infeasible, skipped ({why} < {n})"))
            .collect()
    }
}

/// The manifest written beside the outputs.
pub struct Manifest(Value);

impl Manifest {
    /// Gather everything worth recording about this run.
    pub fn new(
        plan: &Plan,
        datasets: &[PlannedDataset],
        tokenizer: Value,
        feasibility: &Feasibility,
        outcome: &Outcome,
        elapsed: Duration,
    ) -> Self {
        let inputs: Vec<Value> = datasets
            .iter()
            .map(|d| {
                json!({
                    "dataset": d.dataset.folder(),
                    "files": d.files.iter().map(|f| json!({
                        "path": f.path.display().to_string(),
                        "bytes": f.bytes,
                    })).collect::<Vec<_>>(),
                    "bytes": d.bytes(),
                    "rows": outcome.rows.get(&d.dataset).copied().unwrap_or(0),
                    "dropped_by_gpt_oss_filter": outcome.dropped.get(&d.dataset).copied().unwrap_or(0),
                })
            })
            .collect();
        let cuts: Vec<Value> = outcome
            .cuts
            .iter()
            .map(|c| {
                let total = c.total();
                json!({
                    "cut_size": c.n,
                    "file": c.path.file_name().map(|f| f.to_string_lossy().into_owned()),
                    "bytes": c.bytes,
                    "xxh3_128": c.digest,
                    "samples": total.samples,
                    "tokens": total.tokens,
                    "over_length": over_length(&plan.lengths, &total),
                    "datasets": c.datasets.iter().map(|(d, t)| json!({
                        "dataset": d.folder(), "samples": t.samples, "tokens": t.tokens,
                        "over_length": over_length(&plan.lengths, t),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Manifest(json!({
            "knowmix_version": env!("CARGO_PKG_VERSION"),
            "inputs": inputs,
            "parameters": {
                "seed": plan.seed,
                "cut_sizes": plan.cuts,
                "qa_per_doc": plan.qa_per_doc,
                "gpt_oss": plan.gpt_oss,
                "columns": serde_json::to_value(column_map(&plan.columns)).unwrap_or(Value::Null),
                "dataset_columns": detected_columns(plan),
                "thinking": plan.thinking,
                "max_seq_len": plan.lengths.max_seq_len,
                "min_len": plan.lengths.min_len,
                "drop_over_length": plan.lengths.drop,
            },
            "tokenizer": tokenizer,
            "summaries_per_raw_document": feasibility.means.iter().map(|(d, m)| json!({
                "dataset": d.folder(), "mean": m,
            })).collect::<Vec<_>>(),
            "cuts": cuts,
            "infeasible_cuts": feasibility.infeasible.iter().map(|(n, why)| json!({
                "cut_size": n, "reason": why,
            })).collect::<Vec<_>>(),
            "elapsed_seconds": elapsed.as_secs_f64(),
        }))
    }

    /// Add the resume fingerprint, the skipped-lines counts and the
    /// entries of cuts left as they were (kept in cut-size order).
    pub fn finish(mut self, fingerprint: &str, skipped: Value, carried: Vec<Value>) -> Self {
        self.0["fingerprint"] = Value::from(fingerprint);
        if !skipped.is_null() {
            self.0["skipped"] = skipped;
        }
        if let Some(cuts) = self.0["cuts"].as_array_mut() {
            cuts.extend(carried);
            cuts.sort_by_key(|c| c["cut_size"].as_u64());
        }
        self
    }

    /// Write it atomically.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&self.0)?;
        bytes.push(b'\n');
        crate::write::write_small_atomic(path, &bytes)?;
        Ok(())
    }
}

/// A tally's `over_length` entry: what training's length filter drops.
fn over_length(rule: &LengthRule, tally: &Tally) -> Value {
    json!({
        "max_seq_len": rule.max_seq_len,
        "min_len": rule.min_len,
        "too_long": tally.too_long,
        "too_short": tally.too_short,
    })
}

fn column_map(
    columns: &crate::columns::Columns,
) -> std::collections::BTreeMap<&'static str, String> {
    columns
        .pairs()
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect()
}

/// The columns read per dataset (detected at plan time).
fn detected_columns(plan: &Plan) -> Value {
    plan.detected_columns
        .iter()
        .map(|(d, c)| (d.folder().to_owned(), json!(column_map(c))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
