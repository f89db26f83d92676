//! Progress on stderr: a bar per pass showing bytes read and the rate, drawn
//! only when stderr is a terminal and `--quiet` is off, so pipes and logs
//! stay clean. A hidden bar costs nothing.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar that may be hidden.
#[derive(Clone)]
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar for `total` bytes (unknown when `None`, e.g. compressed
    /// inputs) labelled `what`; hidden when `quiet` or when stderr is not a
    /// terminal.
    pub fn bytes(what: &str, total: Option<u64>, quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(ProgressBar::hidden());
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = match total {
            Some(_) => "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            None => "{msg:>24} {spinner} {bytes} {bytes_per_sec} {elapsed}",
        };
        let style = ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_owned());
        Progress(bar)
    }

    /// Count `n` more bytes.
    pub fn add(&self, n: u64) {
        self.0.inc(n);
    }

    /// Relabel (e.g. the dataset being read).
    pub fn label(&self, what: &str) {
        self.0.set_message(what.to_owned());
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// The plain size of `files` when none is compressed (by name), else `None`.
pub fn plain_total<'a>(files: impl IntoIterator<Item = &'a std::path::PathBuf>) -> Option<u64> {
    let mut total = 0;
    for f in files {
        let name = f.to_string_lossy();
        if name.ends_with(".gz") || name.ends_with(".zst") || name.ends_with(".zstd") {
            return None;
        }
        total += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
    }
    Some(total)
}
