//! One module per subcommand, all of one shape: a clap `Args` struct and a
//! `run(args) -> anyhow::Result<()>`. This is the edge where library errors
//! become `anyhow` errors with context.

pub mod mix;
pub mod recipe;
pub mod synth;
