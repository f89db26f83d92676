//! The `knowmix` binary: parse the command line, dispatch to one subcommand,
//! map errors to exit codes. All the work lives in the library.

use clap::{CommandFactory, Parser};
use knowmix::cli::{Cli, Command};
use knowmix::cmd;

fn main() {
    // Flags beat the environment, which beats `.env` (never overridden).
    if let Err(err) = cmd::load_dotenv(std::path::Path::new(".env")) {
        std::process::exit(knowmix::exit::report(Err(err)));
    }
    let cli = Cli::try_parse().unwrap_or_else(|err| from_environment(err).exit());
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

/// A clap error about a value that came from an environment variable (not
/// typed on the command line) names that variable, not only the flag.
fn from_environment(err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return err;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let long = arg
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches("--");
    let typed =
        std::env::args().any(|a| a == format!("--{long}") || a.starts_with(&format!("--{long}=")));
    let command = Cli::command();
    let env = command
        .get_subcommands()
        .flat_map(|c| c.get_arguments())
        .filter(|a| a.get_long() == Some(long))
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .find(|var| std::env::var_os(var).is_some());
    match env {
        Some(var) if !typed => {
            let text = err.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("{first} (the value comes from the environment variable {var}; fix or unset it)\n"),
            )
        }
        _ => err,
    }
}
