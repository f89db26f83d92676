//! `knowmix sample`: exact K, uniformity, determinism across stdin, files
//! and compressions, `--ratio`, spilling, and `| head`.

use knowmix::sample::reservoir::{draw_indices, sample_records};
use knowmix::sample::store::RecordStore;

use crate::util::{into_head, knowmix, pipe_corpus, tempdir, write_compressed};

fn sample_out(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut cmd = knowmix();
    cmd.arg("sample").args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    out.stdout
}

/// Chi-square statistic of observed counts against a uniform expectation.
fn chi_square(counts: &[u64]) -> f64 {
    let expected = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

#[test]
fn sample_is_uniform_over_seeds() {
    // 20 records, 5 drawn, 300 seeds: 75 expected per record. 19 degrees of
    // freedom: P(chi2 > 43.8) = 0.001.
    let dir = tempdir();
    let (mut by_index, mut by_stream) = (vec![0u64; 20], vec![0u64; 20]);
    for seed in 0..300 {
        for i in draw_indices(20, 5, seed, false) {
            by_index[i as usize] += 1;
        }
        let store = RecordStore::new(64, dir.path());
        let records = (0..20u8).map(|i| vec![b'a' + i; 10]);
        for held in sample_records(records, 5, seed, true, &store).unwrap() {
            by_stream[held.index as usize] += 1;
        }
    }
    assert!(chi_square(&by_index) < 43.8, "{by_index:?}");
    assert!(chi_square(&by_stream) < 43.8, "{by_stream:?}");
    // Every position of a shuffled sample is uniform too.
    let mut first = vec![0u64; 20];
    for seed in 0..300 {
        first[draw_indices(20, 5, seed, true)[0] as usize] += 1;
    }
    assert!(chi_square(&first) < 43.8, "{first:?}");
}

#[test]
fn sample_exact_k_same_bytes_from_stdin_files_gz_and_zst() {
    let (_, cut) = pipe_corpus();
    let all = std::fs::read(cut).unwrap();
    let lines: Vec<&[u8]> = all.split_inclusive(|&b| b == b'\n').collect();
    let dir = tempdir();
    for shuffle in [false, true] {
        let flags: Vec<&str> = if shuffle {
            vec!["-n", "17", "--seed", "9", "--shuffle"]
        } else {
            vec!["-n", "17", "--seed", "9"]
        };
        let want = sample_out(&flags, Some(&all));
        let got: Vec<&[u8]> = want.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(got.len(), 17);
        assert!(
            got.iter().all(|l| lines.contains(l)),
            "records pass through byte for byte"
        );
        let positions: Vec<usize> = got
            .iter()
            .map(|l| lines.iter().position(|x| x == l).unwrap())
            .collect();
        assert_eq!(
            positions.windows(2).all(|w| w[0] < w[1]),
            !shuffle,
            "{positions:?}"
        );
        for name in ["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"] {
            let file = dir.path().join(name);
            write_compressed(&file, &all);
            let mut args = flags.clone();
            args.push(file.to_str().unwrap());
            assert!(sample_out(&args, None) == want, "{name} shuffle={shuffle}");
            assert!(
                sample_out(&flags, Some(&std::fs::read(&file).unwrap())) == want,
                "stdin {name}"
            );
        }
        let mut spilling = flags.clone();
        spilling.extend(["--memory-limit", "1000"]);
        assert!(
            sample_out(&spilling, Some(&all)) == want,
            "spilled reservoir"
        );
    }
    assert!(
        sample_out(&["-n", "100000"], Some(&all)) == all,
        "K >= N keeps everything in order"
    );
    assert_ne!(
        sample_out(&["-n", "17", "--seed", "1"], Some(&all)),
        sample_out(&["-n", "17", "--seed", "2"], Some(&all))
    );
}

#[test]
fn sample_ratio_is_a_deterministic_per_record_decision() {
    let input: String = (0..2000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    let half = sample_out(&["--ratio", "0.5", "--seed", "3"], Some(input.as_bytes()));
    let n = half
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert!((900..1100).contains(&n), "{n}");
    // The same record gets the same decision wherever it appears.
    let reversed: String = input.lines().rev().map(|l| format!("{l}\n")).collect();
    let again_out = sample_out(
        &["--ratio", "0.5", "--seed", "3"],
        Some(reversed.as_bytes()),
    );
    let mut again: Vec<&[u8]> = again_out.split(|&b| b == b'\n').collect();
    let mut first: Vec<&[u8]> = half.split(|&b| b == b'\n').collect();
    again.sort();
    first.sort();
    assert_eq!(first, again);
    let shuffled_out = sample_out(
        &["--ratio", "0.5", "--seed", "3", "--shuffle"],
        Some(input.as_bytes()),
    );
    let mut shuffled: Vec<&[u8]> = shuffled_out.split(|&b| b == b'\n').collect();
    shuffled.sort();
    assert_eq!(first, shuffled);
    assert_eq!(
        sample_out(&["--ratio", "1"], Some(input.as_bytes())),
        input.as_bytes()
    );
}

#[test]
fn sample_usage_errors_exit_2() {
    for args in [
        vec!["sample"],
        vec!["sample", "--ratio", "1.5"],
        vec!["sample", "-n", "1", "--ratio", "0.5"],
    ] {
        let out = knowmix().args(&args).write_stdin("{}\n").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn sample_into_head_ends_quietly() {
    let input: String = (0..300_000).map(|i| format!("{{\"i\":{i}}}\n")).collect();
    let dir = tempdir();
    let file = dir.path().join("big.jsonl");
    std::fs::write(&file, input).unwrap();
    for args in [
        format!("sample -n 200000 '{}'", file.display()),
        format!("sample --ratio 1 < '{}'", file.display()),
    ] {
        let (status, stdout, stderr) = into_head(&args);
        assert!(matches!(status.code(), Some(0 | 141)), "{args}: {status:?}");
        assert_eq!(stdout.lines().count(), 1);
        assert_eq!(stderr, "", "{args}");
    }
}
