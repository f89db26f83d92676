//! `knowmix synth`: placeholder.

/// Arguments of `knowmix synth`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Generate.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
