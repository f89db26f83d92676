//! The CLI's [`Observer`]: log lines on stderr, and a progress bar per
//! stage showing the work done and the rate, drawn only when stderr is a
//! terminal and `--quiet` is off, so pipes and logs stay clean.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::observe::{Meter, MeterSink, Observer, Unit};

/// Logs to stderr unless quiet; bars only on a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Stderr {
    /// No logs, no bars.
    pub quiet: bool,
}

impl Observer for Stderr {
    fn log(&self, line: &str) {
        if !self.quiet {
            // A closed or full stderr must never stop the work.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr().lock(),
                format!("{line}\n").as_bytes(),
            );
        }
    }

    fn meter(&self, what: &str, total: Option<u64>, unit: Unit) -> Meter {
        if self.quiet || !std::io::stderr().is_terminal() {
            return Meter::hidden();
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = match (total, unit) {
            (Some(_), Unit::Bytes) => {
                "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
            }
            (None, Unit::Bytes) => "{msg:>24} {spinner} {bytes} {bytes_per_sec} {elapsed}",
            (Some(_), Unit::Records) => {
                "{msg:>24} [{bar:30}] {human_pos}/{human_len} records {per_sec} eta {eta}"
            }
            (None, Unit::Records) => "{msg:>24} {spinner} {human_pos} records {per_sec} {elapsed}",
        };
        let style = ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_owned());
        Meter::new(Arc::new(Bar(bar)))
    }
}

struct Bar(ProgressBar);

impl MeterSink for Bar {
    fn add(&self, n: u64) {
        self.0.inc(n);
    }
    fn label(&self, what: &str) {
        self.0.set_message(what.to_owned());
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
