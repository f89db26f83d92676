#!/usr/bin/env bash
# CPU cost of a sharded mix run stage by stage on one machine, against one
# `knowmix mix`, on the same synthetic corpus, interleaved round by round.
#
#   scripts/shard_cost.sh SIZE [SHARDS...]    e.g. scripts/shard_cost.sh 800MB 3 7
#
# Each round runs `knowmix mix` once and, for each shard count N, plan +
# N index + N emit + merge one after another (--threads 2), all under
# /usr/bin/time; CPU is user+sys summed over the stages. Prints per round
# and the medians, the ratio N-shard CPU / mix CPU, the largest peak RSS
# of any stage, and checks the merged cuts equal mix's (cmp).
# Settings: RUNS (3), WORK (/tmp/knowmix-shard-cost), CUT_SIZES (5,50),
# KNOWMIX (a built binary to measure instead of building this checkout).
set -euo pipefail
SIZE=${1:?usage: scripts/shard_cost.sh SIZE [SHARDS...]}
shift
SHARDS=("${@:-3 7}")
# shellcheck disable=SC2206
SHARDS=(${SHARDS[*]})
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/knowmix-shard-cost}
RUNS=${RUNS:-3}
export CUT_SIZES=${CUT_SIZES:-5,50}
TOKENIZER=$ROOT/fixtures/tokenizers/llama-3.1-instruct
if [[ -z ${KNOWMIX:-} ]]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
    KNOWMIX=${CARGO_TARGET_DIR:-$ROOT/target}/release/knowmix
fi
CORPUS=$WORK/step_03-$SIZE
mkdir -p "$WORK"
[[ -d $CORPUS ]] || "$KNOWMIX" synth --target-bytes "$SIZE" --output "$CORPUS" --quiet
export KNOWMIX_CACHE_DIR=$WORK/cache
"$KNOWMIX" mix --input "$CORPUS" --output "$WORK/warm" --tokenizer "$TOKENIZER" -q --force

# cpu_of CMD...: run under time, append "cpu_seconds peak_kb" to $WORK/t
timed() {
    /usr/bin/time -f "%U %S %M" -o "$WORK/one" "$@" >/dev/null
    awk '{printf "%.3f %d\n", $1 + $2, $3}' "$WORK/one" >> "$WORK/t"
}
sum_cpu() { awk '{c += $1; if ($2 > m) m = $2} END {printf "%.3f %d\n", c, m}' "$WORK/t"; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

declare -A CPU
for round in $(seq 1 "$RUNS"); do
    : > "$WORK/t"
    timed "$KNOWMIX" mix --input "$CORPUS" --output "$WORK/mix" --tokenizer "$TOKENIZER" -q --force --threads 2
    read -r cpu rss < <(sum_cpu)
    CPU[mix]+="$cpu "
    line="round $round: mix ${cpu}s (${rss} KB)"
    for n in "${SHARDS[@]}"; do
        rm -rf "$WORK/w$n" "$WORK/out$n"
        : > "$WORK/t"
        timed "$KNOWMIX" shard plan --input "$CORPUS" --work "$WORK/w$n" --shards "$n" --tokenizer "$TOKENIZER" -q
        for ((i = 0; i < n; i++)); do timed "$KNOWMIX" shard index --work "$WORK/w$n" --shard $i -q --threads 2; done
        for ((i = 0; i < n; i++)); do timed "$KNOWMIX" shard emit --work "$WORK/w$n" --shard $i -q --threads 2; done
        timed "$KNOWMIX" shard merge --work "$WORK/w$n" --output "$WORK/out$n" -q
        read -r cpu rss < <(sum_cpu)
        CPU[$n]+="$cpu "
        line+=", $n shards ${cpu}s (max stage ${rss} KB)"
        for f in "$WORK"/mix/training_mix/combined_cut_*x.jsonl; do
            cmp "$f" "$WORK/out$n/training_mix/$(basename "$f")"
        done
    done
    echo "$line"
done
mix_median=$(tr ' ' '\n' <<< "${CPU[mix]}" | grep . | median)
echo "median CPU: mix ${mix_median}s"
for n in "${SHARDS[@]}"; do
    m=$(tr ' ' '\n' <<< "${CPU[$n]}" | grep . | median)
    echo "median CPU: $n shards ${m}s = $(awk -v a="$m" -v b="$mix_median" 'BEGIN {printf "%.2f", a / b}')x mix"
done
