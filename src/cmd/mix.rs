//! `knowmix mix`: placeholder until the pipeline lands.

/// Arguments of `knowmix mix`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run the mix.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
