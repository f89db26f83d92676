//! The size check before the draw: a recipe that would write more than the
//! free space of the output's (and, when shuffling, the spill's) file
//! system, or more than [`LARGE`], is refused before anything is drawn,
//! spilled or written, unless `--allow-large`. A ratio of `1000000.0` once
//! spilled 6 GB and wrote 13 GB before failing; `u64::MAX` ran on.

use std::path::{Path, PathBuf};

use super::plan::{Population, Request};

/// Outputs larger than this need `--allow-large` whatever the free space.
pub const LARGE: u64 = 1 << 40;

/// Where a run writes and whether it may be large.
pub struct Limit {
    /// The output file (`-`: stdout, no free space to check).
    pub output: PathBuf,
    /// The spill folder when the output is shuffled through it.
    pub spill: Option<PathBuf>,
    /// `--allow-large`.
    pub allow: bool,
}

/// The bytes one source will emit: its request times its mean record size
/// (file sizes on disk, so compressed sources are underestimated).
pub fn estimate(request: Request, population: Population, files: &[PathBuf]) -> u64 {
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let records = match request {
        Request::Records(n) => n as f64,
        Request::Tokens(t) if population.tokens > 0 => {
            t as f64 * population.records as f64 / population.tokens as f64
        }
        Request::Tokens(_) => 0.0,
    };
    let per_record = bytes as f64 / population.records.max(1) as f64;
    (records * per_record).min(u64::MAX as f64) as u64
}

impl Limit {
    /// Refuse `bytes` when too large (see the module docs).
    pub fn check(&self, bytes: u64) -> anyhow::Result<()> {
        if self.allow {
            return Ok(());
        }
        let too_large = |why: String| {
            anyhow::anyhow!(
                "the recipe would write about {} ({why}); nothing was written; \
                 check the sampling sizes, or pass --allow-large to go on",
                human(bytes)
            )
        };
        if bytes > LARGE {
            return Err(too_large(format!("more than {}", human(LARGE))));
        }
        let folder = |p: &Path| match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut places = Vec::new();
        if self.output != Path::new("-") {
            places.push(folder(&self.output));
        }
        places.extend(self.spill.clone());
        for place in places {
            if let Ok(free) = fs4::available_space(&place) {
                if bytes > free {
                    let why = format!("{} is free in {}", human(free), place.display());
                    return Err(too_large(why));
                }
            }
        }
        Ok(())
    }
}

/// `bytes` in GB/MB for messages.
fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.1} GB", b as f64 / 1e9),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_are_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.jsonl");
        std::fs::write(&file, vec![b'x'; 1000]).unwrap();
        let population = Population {
            records: 10,
            tokens: 50,
        };
        let bytes = estimate(
            Request::Records(u64::MAX),
            population,
            std::slice::from_ref(&file),
        );
        assert_eq!(estimate(Request::Tokens(100), population, &[file]), 2000);
        let mut limit = Limit {
            output: dir.path().join("out.jsonl"),
            spill: Some(dir.path().to_path_buf()),
            allow: false,
        };
        let err = limit.check(bytes).unwrap_err().to_string();
        assert!(err.contains("--allow-large"), "{err}");
        limit.check(2000).unwrap();
        limit.allow = true;
        limit.check(bytes).unwrap();
    }
}
