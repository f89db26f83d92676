//! `merge`: after every emit shard is done, concatenate each cut's parts
//! in shard order into `OUTPUT/training_mix/combined_cut_{N}x.jsonl`
//! (compressed as asked), gather the rejected rows, sum the tallies, and
//! write the manifest last. The cuts of a set are all finished before any
//! is renamed into place.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use xxhash_rust::xxh3::Xxh3Default;

use super::emit::{all_emitted, EmitDone};
use super::index::all_done;
use super::layout::Work;
use super::remote::Staged;
use super::{Runner, ShardPlan};
use crate::format::cut_file_name;
use crate::mix::pass2::{CutResult, Outcome, Tally};
use crate::mix::report::Manifest;
use crate::mix::Plan;
use crate::read::open::Compression;
use crate::write::OutputFile;

/// Merge the parts of the plan in `work` into `output`.
pub async fn merge(work: &Work, output: &Path, runner: &Runner) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let staged = Staged::open(work, &runner.spill_root())?;
    let plan = staged.plan().await?;
    let mut run = runner.plan_for(&plan)?;
    run.options.output = output.to_path_buf();
    // A shared work folder in object storage: the markers come down, the
    // parts and rejects are streamed from where they are.
    let markers = (0..plan.shards).flat_map(|s| {
        let work = staged.work();
        [work.index_dir(s), work.emit_dir(s)].map(|dir| Work::marker(&dir))
    });
    staged.fetch_all(markers.collect()).await?;
    let merge = Merge {
        plan: &plan,
        work: staged.work(),
        run: &run,
        take_parts: false,
    };
    merge.run(Vec::new(), started).await
}

/// One merge: the plan, where its parts are, and how to write.
pub(crate) struct Merge<'a> {
    /// The plan.
    pub plan: &'a ShardPlan,
    /// Its work folder.
    pub work: &'a Work,
    /// Output folder and options.
    pub run: &'a Plan,
    /// Rename a lone uncompressed part into place instead of copying it
    /// (a one-process mix, whose work folder is temporary and on the
    /// output's file system).
    pub take_parts: bool,
}

impl Merge<'_> {
    /// Write the cuts, the rejects and the manifest (`carried`: manifest
    /// entries of cuts left as they were).
    pub async fn run(&self, carried: Vec<Value>, started: Instant) -> anyhow::Result<Outcome> {
        let emitted = all_emitted(self.plan, self.work)?;
        let dir = self.run.output.join("training_mix");
        let object = crate::store::Location::is_object_path(&dir);
        if !object {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot create output folder", dir.display()))?;
        }
        if !self.take_parts && !object {
            // (A one-process mix did this before making its work folder here.)
            crate::write::remove_stale_partials(&dir);
        }
        let mut outcome = sum_tallies(&emitted);
        outcome.lengths = self.run.lengths;
        let (mut outputs, mut results) = (Vec::new(), Vec::new());
        for (i, cut) in emitted[0].cuts.iter().enumerate() {
            let target = dir.join(format!(
                "{}{}",
                cut_file_name(cut.n),
                self.run.compress.suffix()
            ));
            let parts: Vec<&CutResult> = emitted.iter().map(|e| &e.cuts[i]).collect();
            let (output, result) = self.write_cut(&target, &parts).await?;
            outputs.extend(output);
            results.push(result);
        }
        let skipped = self.rejects(&dir).await?;
        // From the first rename on, the folder holds a mix of two runs until
        // the new manifest is written; without a manifest it is plainly
        // unfinished (a rerun redoes it), never described by the old one.
        if !object {
            let manifest = dir.join("manifest.json");
            crate::store::delete(&crate::store::Location::from_path(&manifest)?)
                .await
                .with_context(|| {
                    format!("{}: cannot remove the old manifest", manifest.display())
                })?;
        }
        for output in outputs {
            output.commit().await?;
        }
        outcome.cuts = results;
        let skipped = match skipped {
            Some((rejects, counts)) => {
                rejects.commit().await?;
                for (file, n) in &counts {
                    self.run.log(&format!(
                        "skipped {n} bad line(s) in {file}; see training_mix/rejected.jsonl"
                    ));
                }
                Some(counts)
            }
            None => None,
        };
        self.manifest(&emitted, &outcome, carried, skipped, started)
            .write(&dir.join("manifest.json"))?;
        Ok(outcome)
    }

    /// One cut from its parts: the output (to commit with the others) and
    /// its tallies. A lone plain part may simply be renamed.
    async fn write_cut(
        &self,
        target: &Path,
        parts: &[&CutResult],
    ) -> anyhow::Result<(Option<Commit>, CutResult)> {
        let mut result = CutResult {
            path: target.to_path_buf(),
            ..sum_parts(parts)
        };
        if self.take_parts && parts.len() == 1 && self.run.compress == Compression::None {
            result.digest = parts[0].digest.clone();
            let rename = Commit::Rename {
                from: parts[0].path.clone(),
                to: target.to_path_buf(),
            };
            return Ok((Some(rename), result));
        }
        let mut output = OutputFile::create(target, None)?;
        let mut hasher = Xxh3Default::new();
        let mut buf = vec![0u8; 1 << 20];
        for (shard, part) in (0..).zip(parts) {
            let path = self.work.shared(&self.work.part(shard, part.n));
            let mut file = crate::read::open::open_raw(&path, None)
                .await
                .with_context(|| format!("{}: cannot read the part", path.display()))?;
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                output.write_all(&buf[..n]).await?;
            }
        }
        output.finish().await?;
        result.digest = format!("{:032x}", hasher.digest128());
        Ok((Some(Commit::Output(Box::new(output))), result))
    }

    /// Gather every shard's rejected rows (index stage first, then emit,
    /// each in shard order) under `--on-error skip`.
    async fn rejects(
        &self,
        dir: &Path,
    ) -> anyhow::Result<Option<(OutputFile, Vec<(String, u64)>)>> {
        if !self.run.sets_aside() {
            return Ok(None);
        }
        let indexed = all_done(self.plan, self.work)?;
        let mut output = OutputFile::create(&dir.join("rejected.jsonl"), None)?;
        let mut counts: Vec<(String, u64)> = Vec::new();
        let stages = (0..self.plan.shards)
            .map(|s| self.work.index_dir(s))
            .chain((0..self.plan.shards).map(|s| self.work.emit_dir(s)));
        for stage_dir in stages {
            let path = self.work.shared(&Work::rejects(&stage_dir));
            let bytes = crate::store::read_all(&crate::store::Location::from_path(&path)?)
                .await
                .with_context(|| format!("{}: cannot read rejected rows", path.display()))?;
            output.write_all(&bytes).await?;
        }
        let emitted = all_emitted(self.plan, self.work)?;
        let all = indexed
            .iter()
            .map(|d| &d.rejected)
            .chain(emitted.iter().map(|d| &d.rejected));
        for (file, n) in all.flatten() {
            match counts.iter_mut().find(|(f, _)| f == file) {
                Some((_, total)) => *total += n,
                None => counts.push((file.clone(), *n)),
            }
        }
        output.finish().await?;
        Ok(Some((output, counts)))
    }

    fn manifest(
        &self,
        emitted: &[EmitDone],
        outcome: &Outcome,
        carried: Vec<Value>,
        skipped: Option<Vec<(String, u64)>>,
        started: Instant,
    ) -> Manifest {
        let mut tokenizer = self.plan.tokenizer.clone();
        tokenizer["counter"] = Value::from(emitted[0].counter.clone());
        let skipped = skipped.map_or(Value::Null, |counts| {
            counts
                .into_iter()
                .map(|(file, lines)| serde_json::json!({"file": file, "lines": lines}))
                .collect()
        });
        Manifest::new(
            self.run,
            &self.plan.datasets,
            tokenizer,
            &emitted[0].feasibility,
            outcome,
            started.elapsed(),
        )
        .finish(&self.plan.mix_fingerprint, skipped, carried)
    }
}

/// Rows and drops summed over shards.
fn sum_tallies(emitted: &[EmitDone]) -> Outcome {
    let mut outcome = Outcome::default();
    for e in emitted {
        for (d, n) in &e.rows {
            *outcome.rows.entry(*d).or_default() += n;
        }
        for (d, n) in &e.dropped {
            *outcome.dropped.entry(*d).or_default() += n;
        }
    }
    outcome
}

/// One cut's tallies over its parts (bytes summed; digest and path left
/// for the caller).
fn sum_parts(parts: &[&CutResult]) -> CutResult {
    let mut sum = CutResult {
        n: parts[0].n,
        path: PathBuf::new(),
        datasets: parts[0]
            .datasets
            .iter()
            .map(|(d, _)| (*d, Tally::default()))
            .collect(),
        bytes: 0,
        digest: String::new(),
    };
    for part in parts {
        sum.bytes += part.bytes;
        for ((_, total), (_, t)) in sum.datasets.iter_mut().zip(&part.datasets) {
            *total += *t;
        }
    }
    sum
}

/// A finished cut waiting to be put in place with the others.
enum Commit {
    /// A written temp file.
    Output(Box<OutputFile>),
    /// A one-shard part, moved as it is.
    Rename { from: PathBuf, to: PathBuf },
}

impl Commit {
    async fn commit(self) -> anyhow::Result<()> {
        match self {
            Commit::Output(output) => (*output).commit().await.map(drop).map_err(Into::into),
            Commit::Rename { from, to } => std::fs::rename(&from, &to)
                .with_context(|| format!("{}: cannot move the cut into place", to.display())),
        }
    }
}
