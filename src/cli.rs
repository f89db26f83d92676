//! The command line as typed: one clap struct per subcommand, no I/O here.
//! Each subcommand's `Args` lives in its own `cmd::<name>` module; this file
//! only lists them.

use clap::{Parser, Subcommand};

/// Build LLM fine-tuning mixes out of generated knowledge data, streaming.
#[derive(Debug, Parser)]
#[command(name = "knowmix", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Step 04 knowledge mixing: step-03 folder in, combined_cut_{N}x.jsonl out.
    Mix(crate::cmd::mix::Args),
    /// Mix as stages over a shared work folder: plan, index, emit, merge.
    Shard(crate::cmd::shard::Args),
    /// Generate a synthetic step-03 corpus (fixtures, benchmarks).
    Synth(crate::cmd::synth::Args),
    /// Build a training mix from a recipe: up/downsampling by count, ratio, weight or tokens.
    Recipe(crate::cmd::recipe::Args),
    /// Set token_length on JSONL records, as `mix` counts it.
    Tokens(crate::cmd::tokens::Args),
    /// Sample JSONL records uniformly, without replacement.
    Sample(crate::cmd::sample::Args),
    /// Summarise JSONL records or a step-03 folder.
    Stats(crate::cmd::stats::Args),
}
