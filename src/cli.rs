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
    /// Generate a synthetic step-03 corpus (fixtures, benchmarks).
    Synth(crate::cmd::synth::Args),
    #[doc = "Build a training mix from a recipe: up/downsampling by count, ratio, weight or tokens."] Recipe(crate::cmd::recipe::Args),
}
