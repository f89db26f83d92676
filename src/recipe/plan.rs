//! How much each source contributes, as pure arithmetic on the pass-1
//! counts: ratios become record counts by round-half-even of `r × N`
//! (so 2.5 × 200 = 500, 0.5 × 3 = 2, 0.5 × 5 = 2); weights split the
//! target by largest-remainder rounding (ties to the earlier source), so the
//! parts add up to the target exactly. Then the feasibility check: no
//! record may need more than `max_repeats` copies. An infeasible recipe
//! fails here, before any output, naming the largest achievable size and
//! the repetition the request would need.

use super::config::{Ask, Target};

/// What pass 1 counted in one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Population {
    /// Records (non-blank lines).
    pub records: u64,
    /// Sum of their token lengths.
    pub tokens: u64,
}

/// What one source must emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Exactly this many records (copies included).
    Records(u64),
    /// Records in draw order until their token sum reaches this budget.
    Tokens(u64),
}

/// One source as the planner sees it.
#[derive(Debug, Clone)]
pub struct Input {
    /// How the source is named in messages (`datasets[i] (path …)`).
    pub name: String,
    /// Its ask from the recipe.
    pub ask: Ask,
    /// Its copy cap (`None`: unlimited).
    pub max_repeats: Option<u32>,
    /// Its pass-1 counts.
    pub population: Population,
}

/// `r × n` rounded half to even.
pub fn ratio_count(r: f64, n: u64) -> u64 {
    (r * n as f64).round_ties_even() as u64
}

/// Split `total` by `weights` with largest-remainder rounding: the parts
/// sum to `total` exactly; ties go to the earlier weight.
pub fn largest_remainder(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let quotas: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut parts: Vec<u64> = quotas.iter().map(|q| q.floor() as u64).collect();
    let assigned: u64 = parts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (quotas[a] - quotas[a].floor(), quotas[b] - quotas[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order
        .iter()
        .cycle()
        .take(total.saturating_sub(assigned) as usize)
    {
        parts[i] += 1;
    }
    parts
}

/// Copies the most-repeated record needs for `request` (ceil), or `None`
/// when the source is empty but asked for something.
pub fn repeats_needed(request: Request, population: Population) -> Option<u64> {
    let (want, have) = match request {
        Request::Records(c) => (c, population.records),
        Request::Tokens(b) => (b, population.tokens),
    };
    match (want, have) {
        (0, _) => Some(0),
        (_, 0) => None,
        (w, h) => Some(w.div_ceil(h)),
    }
}

fn fits(request: Request, input: &Input) -> bool {
    match repeats_needed(request, input.population) {
        None => false,
        Some(r) => input.max_repeats.is_none_or(|m| r <= u64::from(m)),
    }
}

/// The request of every source, or why the recipe cannot be met.
pub fn requests(inputs: &[Input], target: Option<Target>) -> Result<Vec<Request>, String> {
    let weights: Vec<f64> = inputs
        .iter()
        .filter_map(|i| match i.ask {
            Ask::Weight(w) => Some(w),
            _ => None,
        })
        .collect();
    let split = |total: u64| largest_remainder(total, &weights);
    let (total, by_tokens) = match target {
        Some(Target {
            tokens: Some(t), ..
        }) => (t, true),
        Some(Target {
            records: Some(r), ..
        }) => (r, false),
        _ => (0, false),
    };
    let weighted = weighted_requests(inputs, &split(total), by_tokens);
    let mut out = Vec::with_capacity(inputs.len());
    for (input, w) in inputs.iter().zip(&weighted) {
        let request = match input.ask {
            Ask::Count(n) => Request::Records(n),
            Ask::Ratio(r) => Request::Records(ratio_count(r, input.population.records)),
            Ask::Tokens(b) => Request::Tokens(b),
            Ask::Weight(_) => w.expect("weighted source has a share"),
        };
        if !fits(request, input) {
            return Err(match input.ask {
                Ask::Weight(_) => target_error(inputs, total, by_tokens, input, request),
                _ => fixed_error(input, request),
            });
        }
        out.push(request);
    }
    Ok(out)
}

fn weighted_requests(inputs: &[Input], parts: &[u64], by_tokens: bool) -> Vec<Option<Request>> {
    let mut parts = parts.iter();
    inputs
        .iter()
        .map(|i| match i.ask {
            Ask::Weight(_) => {
                let p = *parts.next().expect("one part per weight");
                Some(if by_tokens {
                    Request::Tokens(p)
                } else {
                    Request::Records(p)
                })
            }
            _ => None,
        })
        .collect()
}

fn unit(request: Request) -> (&'static str, u64) {
    match request {
        Request::Records(c) => ("records", c),
        Request::Tokens(b) => ("tokens", b),
    }
}

fn shortfall(input: &Input, request: Request) -> String {
    let (unit, want) = unit(request);
    let have = if unit == "tokens" {
        input.population.tokens
    } else {
        input.population.records
    };
    match (repeats_needed(request, input.population), input.max_repeats) {
        (None, _) => format!("{}: asks for {want} {unit} but has none", input.name),
        (Some(need), Some(cap)) => format!(
            "{}: asks for {want} {unit} but has {have} and max_repeats {cap} allows at most {}; \
             it would need max_repeats {need}",
            input.name,
            have * u64::from(cap),
        ),
        (Some(need), None) => format!(
            "{}: asks for {want} {unit}, needing {need} repeats",
            input.name
        ),
    }
}

fn fixed_error(input: &Input, request: Request) -> String {
    let (unit, _) = unit(request);
    let have = if unit == "tokens" {
        input.population.tokens
    } else {
        input.population.records
    };
    let best = have * u64::from(input.max_repeats.unwrap_or(1));
    let key = if unit == "tokens" {
        "tokens"
    } else {
        "sampling_size"
    };
    format!(
        "{}; the largest achievable is {key}: {best} (or raise max_repeats)",
        shortfall(input, request)
    )
}

fn target_error(
    inputs: &[Input],
    total: u64,
    by_tokens: bool,
    culprit: &Input,
    request: Request,
) -> String {
    let unit = if by_tokens { "tokens" } else { "records" };
    let weights: Vec<f64> = inputs
        .iter()
        .filter_map(|i| match i.ask {
            Ask::Weight(w) => Some(w),
            _ => None,
        })
        .collect();
    let feasible = |t: u64| {
        weighted_requests(inputs, &largest_remainder(t, &weights), by_tokens)
            .iter()
            .zip(inputs)
            .all(|(r, i)| r.is_none_or(|r| fits(r, i)))
    };
    // Binary search the largest feasible target below the requested one.
    let (mut lo, mut hi) = (0u64, total);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if feasible(mid) {
            lo = mid
        } else {
            hi = mid
        }
    }
    format!(
        "target {unit} {total} cannot be met: {}; the largest achievable target is {unit}: {lo} \
         (or raise max_repeats)",
        shortfall(culprit, request)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ask: Ask, records: u64, tokens: u64, max_repeats: Option<u32>) -> Input {
        Input {
            name: "s".into(),
            ask,
            max_repeats,
            population: Population { records, tokens },
        }
    }

    #[test]
    fn ratios_round_half_even() {
        assert_eq!(ratio_count(2.5, 200), 500);
        assert_eq!(ratio_count(0.5, 3), 2);
        assert_eq!(ratio_count(0.5, 5), 2);
        assert_eq!(ratio_count(0.2, 7), 1);
        assert_eq!(ratio_count(1.0, 7), 7);
    }

    #[test]
    fn largest_remainder_sums_exactly() {
        assert_eq!(largest_remainder(10, &[1.0, 1.0, 1.0]), [4, 3, 3]);
        assert_eq!(largest_remainder(100, &[0.5, 0.3, 0.2]), [50, 30, 20]);
        assert_eq!(largest_remainder(7, &[2.0, 1.0]), [5, 2]);
        for total in [0u64, 1, 999, 1_000_003] {
            assert_eq!(
                largest_remainder(total, &[0.1, 0.7, 2.9, 1.3])
                    .iter()
                    .sum::<u64>(),
                total
            );
        }
    }

    #[test]
    fn caps_fail_with_best_target() {
        let inputs = [
            input(Ask::Weight(1.0), 100, 0, Some(2)),
            input(Ask::Weight(1.0), 1000, 0, Some(1)),
        ];
        let target = Target {
            records: Some(1000),
            tokens: None,
        };
        let e = requests(&inputs, Some(target)).unwrap_err();
        assert!(
            e.contains("largest achievable target is records: 400"),
            "{e}"
        );
        assert!(e.contains("would need max_repeats 5"), "{e}");
        let ok = requests(
            &inputs,
            Some(Target {
                records: Some(400),
                tokens: None,
            }),
        )
        .unwrap();
        assert_eq!(ok, [Request::Records(200), Request::Records(200)]);
        let fixed = [input(Ask::Count(500), 100, 0, Some(3))];
        let e = requests(&fixed, None).unwrap_err();
        assert!(
            e.contains("sampling_size: 300") && e.contains("max_repeats 5"),
            "{e}"
        );
    }
}
