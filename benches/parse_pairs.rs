//! The skipping scanner against the simd-json tape on the wide extractive
//! rows of the fixture (the `parse` rows of `stages`), timed pass by pass
//! and alternating, so that both see the same machine state: on a shared
//! machine the criterion medians of the two, taken seconds apart, swing
//! with other load. Prints each one's fastest and median pass and the
//! median of the per-pass ratios.
//!
//! Run: `cargo bench --bench parse_pairs [-- PASSES]` (default 2000, ~1 s).

use std::path::Path;
use std::time::Instant;

use knowmix::read::fields::{location, FieldParser};
use knowmix::read::scan::Scanner;

/// The columns picked out of each row, as in `stages`.
const PICKED: [&str; 3] = ["raw_document", "document", "question"];

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/step_03/extractive_summary/gen-00000-of-00003.jsonl");
    let lines: Vec<Vec<u8>> = std::fs::read(path)
        .unwrap()
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let passes = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let at = || location(Path::new("x"), 1);
    let mut parser = FieldParser::default();
    let mut scanner = Scanner::default();
    let mut copies = lines.clone();
    let (mut tape, mut scan) = (Vec::new(), Vec::new());
    for _ in 0..passes {
        tape.push(time_pass(&mut copies, &lines, |buf| {
            let row = parser.parse(buf, at).unwrap();
            PICKED
                .map(|k| row.required_str(k, at).unwrap().len())
                .iter()
                .sum()
        }));
        scan.push(time_pass(&mut copies, &lines, |buf| {
            let row = scanner.scan(buf, at).unwrap();
            PICKED
                .map(|k| row.required_str(k, at).unwrap().len())
                .iter()
                .sum()
        }));
    }
    let mut ratios: Vec<f64> = tape.iter().zip(&scan).map(|(t, s)| t / s).collect();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    report("simd-json tape", &mut tape, bytes);
    report("skip-scan", &mut scan, bytes);
    ratios.sort_by(f64::total_cmp);
    let at_fraction = |f: f64| ratios[((ratios.len() - 1) as f64 * f) as usize];
    println!(
        "tape / scan, per pass: median {:.2} (p10 {:.2}, p90 {:.2}) over {passes} passes",
        at_fraction(0.5),
        at_fraction(0.1),
        at_fraction(0.9)
    );
}

/// Seconds to `parse` every line, on fresh copies made outside the timing.
fn time_pass(
    copies: &mut [Vec<u8>],
    lines: &[Vec<u8>],
    mut parse: impl FnMut(&mut [u8]) -> usize,
) -> f64 {
    for (copy, line) in copies.iter_mut().zip(lines) {
        copy.copy_from_slice(line);
    }
    let start = Instant::now();
    std::hint::black_box(copies.iter_mut().map(|l| parse(l)).sum::<usize>());
    start.elapsed().as_secs_f64()
}

fn report(name: &str, seconds: &mut [f64], bytes: usize) {
    seconds.sort_by(f64::total_cmp);
    let mib = |s: f64| bytes as f64 / s / (1 << 20) as f64;
    let (fastest, median) = (seconds[0], seconds[seconds.len() / 2]);
    println!(
        "{name}: fastest {:.1} µs ({:.0} MiB/s), median {:.1} µs ({:.0} MiB/s)",
        fastest * 1e6,
        mib(fastest),
        median * 1e6,
        mib(median)
    );
}
