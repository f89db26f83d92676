//! The `knowmix` binary: parse the command line, dispatch to one subcommand,
//! map errors to exit codes. All the work lives in the library.

use clap::Parser;
use knowmix::cli::{Cli, Command};
use knowmix::cmd;

fn main() {
    // Flags beat the environment, which beats `.env` (never overridden).
    let _ = dotenvy::from_path(".env");
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mix(args) => cmd::mix::run(args),
        Command::Shard(args) => cmd::shard::run(args),
        Command::Synth(args) => cmd::synth::run(args),
        Command::Recipe(args) => cmd::recipe::run(args),
        Command::Tokens(args) => cmd::tokens::run(args),
        Command::Sample(args) => cmd::sample::run(args),
        Command::Stats(args) => cmd::stats::run(args),
    };
    std::process::exit(knowmix::exit::report(result));
}
