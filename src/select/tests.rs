//! Sampler properties: uniform inclusion, nesting, determinism, and the
//! per-summary QA rule.

use super::*;
use proptest::prelude::*;

/// Rows: (raw document id, summary id) in file order.
fn pick_rows(rows: &[(u8, u8)], seed: u64, plan: Plan) -> (Vec<Pick>, GroupStats) {
    let sampler = Sampler::new(seed);
    let mut entries: Vec<IndexEntry> = rows
        .iter()
        .enumerate()
        .map(|(i, (r, d))| IndexEntry {
            place: RowPlace {
                line_no: i as u64 + 1,
                ..RowPlace::UNKNOWN
            },
            ..sampler.entry(&format!("raw{r}"), &format!("doc{d}"), i as u64)
        })
        .collect();
    entries.sort();
    let mut picks = Vec::new();
    let stats = walk_groups(entries.into_iter().map(Ok::<_, ()>), plan, |p| {
        picks.push(p);
        Ok(())
    })
    .unwrap();
    picks.sort();
    (picks, stats)
}

fn cut(picks: &[Pick], n: u32) -> Vec<u64> {
    picks
        .iter()
        .filter(|p| p.in_cut(n))
        .map(|p| p.row)
        .collect()
}

const PLAN: Plan = Plan {
    qa_per_doc: 3,
    max_cut: 50,
    shard: None,
};

#[test]
fn keeps_first_qa_per_summary_in_file_order() {
    // One raw doc, one summary, five QA rows interleaved with another raw doc.
    let rows = [(0, 0), (1, 9), (0, 0), (0, 0), (1, 9), (0, 0), (0, 0)];
    let (picks, stats) = pick_rows(&rows, 7, PLAN);
    assert_eq!(cut(&picks, 1), vec![0, 1, 2, 3, 4]);
    assert_eq!(
        stats,
        GroupStats {
            rows: 7,
            raw_documents: 2,
            summaries: 2
        }
    );
}

#[test]
fn same_summary_under_two_raw_documents_counts_twice() {
    let rows = [(0, 5), (1, 5)];
    let (_, stats) = pick_rows(&rows, 1, PLAN);
    assert_eq!(stats.summaries, 2);
    assert_eq!(stats.raw_documents, 2);
    assert!(stats.is_feasible(1) && !stats.is_feasible(2));
}

#[test]
fn inclusion_is_uniform_over_summaries() {
    // 10 summaries of one raw doc, cut 3: each summary kept with p = 0.3.
    let rows: Vec<(u8, u8)> = (0..10).map(|d| (0, d)).collect();
    let seeds = 4000;
    let mut kept = [0u32; 10];
    for seed in 0..seeds {
        let (picks, _) = pick_rows(&rows, seed, PLAN);
        for row in cut(&picks, 3) {
            kept[row as usize] += 1;
        }
    }
    let expected = seeds as f64 * 0.3;
    let chi2: f64 = kept
        .iter()
        .map(|&k| (k as f64 - expected).powi(2) / expected)
        .sum();
    // 9 degrees of freedom: p = 0.001 at 27.9.
    assert!(chi2 < 27.9, "chi2 {chi2}, counts {kept:?}");
}

proptest! {
    #[test]
    fn cuts_are_nested_sized_and_deterministic(
        rows in prop::collection::vec((0u8..6, 0u8..12), 0..200),
        seed in any::<u64>(),
    ) {
        let (picks, stats) = pick_rows(&rows, seed, PLAN);
        prop_assert_eq!(&pick_rows(&rows, seed, PLAN).0, &picks);
        for n in 1..14u32 {
            let small = cut(&picks, n);
            let big = cut(&picks, n + 1);
            prop_assert!(small.iter().all(|r| big.contains(r)));
            // Per raw doc: min(n, distinct) summaries, each ≤ 3 rows, first in order.
            for raw in 0..6u8 {
                let kept: Vec<u64> = small.iter().copied().filter(|&r| rows[r as usize].0 == raw).collect();
                let mut docs: Vec<u8> = kept.iter().map(|&r| rows[r as usize].1).collect();
                docs.sort();
                docs.dedup();
                let mut all: Vec<u8> = rows.iter().filter(|x| x.0 == raw).map(|x| x.1).collect();
                all.sort();
                all.dedup();
                prop_assert_eq!(docs.len(), all.len().min(n as usize));
                for d in docs {
                    let of_doc: Vec<u64> = (0..rows.len() as u64).filter(|&r| rows[r as usize] == (raw, d)).collect();
                    let expect: Vec<u64> = of_doc.iter().copied().take(3).collect();
                    let got: Vec<u64> = kept.iter().copied().filter(|&r| rows[r as usize].1 == d).collect();
                    prop_assert_eq!(got, expect);
                }
            }
        }
        prop_assert_eq!(stats.rows, rows.len() as u64);
    }

    #[test]
    fn draw_ignores_input_order(
        rows in prop::collection::vec((0u8..4, 0u8..8), 1..60),
        seed in any::<u64>(),
    ) {
        // Which summaries are drawn depends on (seed, raw, doc) only.
        let drawn = |rows: &[(u8, u8)]| {
            let (picks, _) = pick_rows(rows, seed, Plan { qa_per_doc: 1000, max_cut: 2, shard: None });
            let mut s: Vec<(u8, u8)> = picks.iter().map(|p| rows[p.row as usize]).collect();
            s.sort();
            s.dedup();
            s
        };
        let mut reversed = rows.clone();
        reversed.reverse();
        prop_assert_eq!(drawn(&rows), drawn(&reversed));
    }
}

proptest! {
    #[test]
    fn shards_draw_what_one_machine_draws(
        rows in prop::collection::vec((0u8..4, 0u8..8), 1..80),
        cuts in prop::collection::vec(0usize..80, 0..4),
        seed in any::<u64>(),
    ) {
        // Rows split among shards at arbitrary points (a shard numbers its
        // own rows from 0) and identified by their line: each shard's picks
        // are exactly the one-machine picks that fall in it.
        let (whole, whole_stats) = pick_rows(&rows, seed, PLAN);
        let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % rows.len()).collect();
        bounds.push(0);
        bounds.push(rows.len());
        bounds.sort();
        bounds.dedup();
        let sampler = Sampler::new(seed);
        let mut entries = Vec::new();
        for (shard, w) in bounds.windows(2).enumerate() {
            for (local, i) in (w[0]..w[1]).enumerate() {
                let (r, d) = rows[i];
                entries.push(IndexEntry {
                    place: RowPlace { line_no: i as u64 + 1, ..RowPlace::UNKNOWN },
                    shard: shard as u32,
                    ..sampler.entry(&format!("raw{r}"), &format!("doc{d}"), local as u64)
                });
            }
        }
        entries.sort();
        for (shard, w) in bounds.windows(2).enumerate() {
            let plan = Plan { shard: Some(shard as u32), ..PLAN };
            let mut picks = Vec::new();
            let stats = walk_groups(entries.iter().copied().map(Ok::<_, ()>), plan, |p| {
                picks.push((p.row + w[0] as u64, p.level));
                Ok(())
            }).unwrap();
            picks.sort();
            let expect: Vec<(u64, u32)> = whole
                .iter()
                .filter(|p| (w[0]..w[1]).contains(&(p.row as usize)))
                .map(|p| (p.row, p.level))
                .collect();
            prop_assert_eq!(picks, expect);
            prop_assert_eq!(stats, whole_stats);
        }
    }
}
