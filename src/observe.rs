//! How an engine tells its caller what it is doing, without knowing who
//! listens: log lines and progress meters go to an [`Observer`] the caller
//! passes in. The CLI's observer draws indicatif bars and writes stderr
//! (`cmd::progress`); a Python driver or a test can collect the lines or
//! pass [`Silent`]. Engines never print.

use std::sync::Arc;

/// Receives an engine's log lines and hands out progress meters.
pub trait Observer: Send + Sync {
    /// One human-readable line (a warning, a stage's timing, a cut's fate).
    fn log(&self, line: &str);

    /// A meter for a stage that will do `total` units of work (`None` when
    /// unknown), labelled `what`. The total is the work the stage really
    /// does, so a finished meter stands at 100%.
    fn meter(&self, what: &str, total: Option<u64>, unit: Unit) -> Meter {
        let _ = (what, total, unit);
        Meter::hidden()
    }
}

/// What a meter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes read.
    Bytes,
    /// Records read or built.
    Records,
}

/// What a progress meter does with the counts it is given.
pub trait MeterSink: Send + Sync {
    /// `n` more units done.
    fn add(&self, n: u64);
    /// A new label (e.g. the dataset being read).
    fn label(&self, what: &str);
    /// The stage is over.
    fn finish(&self);
}

/// A cheap, cloneable handle on a progress meter (shared by the reader and
/// the workers of a stage).
#[derive(Clone)]
pub struct Meter(Option<Arc<dyn MeterSink>>);

impl Meter {
    /// A meter that shows nothing and costs nothing.
    pub fn hidden() -> Meter {
        Meter(None)
    }

    /// A meter that reports to `sink`.
    pub fn new(sink: Arc<dyn MeterSink>) -> Meter {
        Meter(Some(sink))
    }

    /// Count `n` more units.
    pub fn add(&self, n: u64) {
        if let Some(s) = &self.0 {
            s.add(n);
        }
    }

    /// Relabel.
    pub fn label(&self, what: &str) {
        if let Some(s) = &self.0 {
            s.label(what);
        }
    }

    /// End the meter.
    pub fn finish(&self) {
        if let Some(s) = &self.0 {
            s.finish();
        }
    }
}

/// An observer that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn log(&self, _line: &str) {}
}

/// An observer that keeps the log lines (tests, drivers that forward them).
#[derive(Debug, Default)]
pub struct Collect(std::sync::Mutex<Vec<String>>);

impl Collect {
    /// The lines logged so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Observer for Collect {
    fn log(&self, line: &str) {
        if let Ok(mut lines) = self.0.lock() {
            lines.push(line.to_owned());
        }
    }
}
