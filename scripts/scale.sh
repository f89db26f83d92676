#!/usr/bin/env bash
# Side-by-side scale benchmark: knowmix vs the notebook's logic on one corpus.
#
#   scripts/scale.sh SIZE          e.g. scripts/scale.sh 800MB
#
# Builds knowmix (release), generates a synthetic step-03 corpus of about SIZE
# with `knowmix synth --target-bytes SIZE` under $WORK (default /tmp), runs
# `knowmix mix` with --threads T for each T in $THREADS (default "1 2"), $RUNS
# times each (default 3), under /usr/bin/time -v, and reports the median wall
# time, MB/s of input and the largest peak RSS. When a Python with polars,
# datasets and transformers is found ($PYTHON, default /work/venv-nb/bin/python
# if present, else python3) it runs scripts/notebook_mix.py on the same folder
# ($PY_RUNS times, default $RUNS) with a fresh HF datasets cache each run, each
# run bracketed by two `--threads 2` knowmix runs before and two after, and
# prints the ratio of the medians and the median of the per-round ratios
# (the fairer figure when the host's speed drifts).
#
# Settings (environment): CUT_SIZES (5,50), QA_PER_DOC (3), SAVE_GPT_OSS_FORMAT
# (false), TOKENIZER (fixtures/tokenizers/llama-3.1-instruct), SEED (1),
# SYNTH_FLAGS (extra `knowmix synth` flags), KEEP=1 keeps outputs, KNOWMIX
# (a built binary to measure instead of building this checkout).
#
# The fast counter's tables are cached in $WORK/cache (KNOWMIX_CACHE_DIR),
# filled by one untimed run first; the `knowmix-t2-nocache` line times runs
# with the cache off (every run builds the tables, as a first run does).
set -euo pipefail

SIZE=${1:?usage: scripts/scale.sh SIZE (e.g. 800MB)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/knowmix-scale}
RUNS=${RUNS:-3}
PY_RUNS=${PY_RUNS:-$RUNS}
THREADS=${THREADS:-"1 2"}
SEED=${SEED:-1}
export CUT_SIZES=${CUT_SIZES:-5,50}
export QA_PER_DOC=${QA_PER_DOC:-3}
export SAVE_GPT_OSS_FORMAT=${SAVE_GPT_OSS_FORMAT:-false}
TOKENIZER=${TOKENIZER:-$ROOT/fixtures/tokenizers/llama-3.1-instruct}
TIME=/usr/bin/time

if [[ ! -x $TIME ]]; then
    echo "scale.sh: $TIME is missing; install it with: apt-get install time" >&2
    exit 1
fi
case $WORK in
    "$ROOT"|"$ROOT"/*) echo "scale.sh: WORK must be outside the repository" >&2; exit 1 ;;
esac

if [[ -z ${KNOWMIX:-} ]]; then
    echo "== building knowmix (release)"
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
    KNOWMIX=${CARGO_TARGET_DIR:-$ROOT/target}/release/knowmix
fi

CORPUS=$WORK/step_03-$SIZE
mkdir -p "$WORK"
STAMP="synth --target-bytes $SIZE ${SYNTH_FLAGS:-} ($($KNOWMIX --version))"
if [[ -f $CORPUS/.stamp && $(cat "$CORPUS/.stamp") == "$STAMP" ]]; then
    echo "== reusing $CORPUS"
else
    echo "== generating $CORPUS"
    rm -rf "$CORPUS"
    # shellcheck disable=SC2086
    "$KNOWMIX" synth --target-bytes "$SIZE" --output "$CORPUS" ${SYNTH_FLAGS:-}
    echo "$STAMP" > "$CORPUS/.stamp"
fi
BYTES=$(du -sb --exclude=.stamp "$CORPUS" | cut -f1)
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "   corpus: $MB MB; cuts $CUT_SIZES, QA_PER_DOC $QA_PER_DOC, GPT-OSS $SAVE_GPT_OSS_FORMAT"

# wall_seconds LOG / peak_kb LOG: read /usr/bin/time -v output.
wall_seconds() {
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
        for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"
}
peak_kb() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench LABEL N CMD...: run CMD N times; sets MEDIAN (s) and PEAK (MB).
bench() {
    local label=$1 n=$2; shift 2
    local walls=() peak=0 i log
    for ((i = 1; i <= n; i++)); do
        log=$WORK/$label.$i.time
        rm -rf "$WORK/out-$label" "$WORK/hf-cache"
        if ! HF_DATASETS_CACHE=$WORK/hf-cache HF_HUB_OFFLINE=1 \
            $TIME -v -o "$log" "$@" > "$WORK/$label.$i.out" 2> "$WORK/$label.$i.err"; then
            echo "   $label run $i failed; see $WORK/$label.$i.err" >&2
            tail -5 "$WORK/$label.$i.err" >&2
            return 1
        fi
        walls+=("$(wall_seconds "$log")")
        peak=$(( $(peak_kb "$log") > peak ? $(peak_kb "$log") : peak ))
    done
    MEDIAN=$(printf '%s\n' "${walls[@]}" | median)
    WALLS=("${walls[@]}")
    PEAK=$(awk -v k="$peak" 'BEGIN { printf "%.0f", k / 1024 }')
    local lines
    lines=$(cat "$WORK/out-$label"/training_mix/*.jsonl 2>/dev/null | wc -l)
    printf '   %-14s runs: %s  median %7.2f s  %7.1f MB/s  peak RSS %6s MB  records %s\n' \
        "$label" "${walls[*]}" "$MEDIAN" "$(awk -v m="$MB" -v t="$MEDIAN" 'BEGIN { print m / t }')" "$PEAK" "$lines"
    [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK/hf-cache"
}

echo "== knowmix mix"
export KNOWMIX_CACHE_DIR=$WORK/cache
rm -rf "$KNOWMIX_CACHE_DIR"
"$KNOWMIX" mix --input "$CORPUS" --output "$WORK/out-warmup" --tokenizer "$TOKENIZER" \
    --cut-sizes "$CUT_SIZES" --quiet > /dev/null 2>&1 || true
rm -rf "$WORK/out-warmup"
# shellcheck disable=SC2046
KNOWMIX_CACHE_DIR="" bench "knowmix-t2-nocache" "$RUNS" "$KNOWMIX" mix --input "$CORPUS" \
    --output "$WORK/out-knowmix-t2-nocache" --tokenizer "$TOKENIZER" --cut-sizes "$CUT_SIZES" \
    --qa-per-doc "$QA_PER_DOC" --seed "$SEED" --threads 2 --quiet \
    $([[ $SAVE_GPT_OSS_FORMAT == true ]] && echo --gpt-oss) || true
BEST=""
for t in $THREADS; do
    # shellcheck disable=SC2046
    bench "knowmix-t$t" "$RUNS" "$KNOWMIX" mix --input "$CORPUS" --output "$WORK/out-knowmix-t$t" \
        --tokenizer "$TOKENIZER" --cut-sizes "$CUT_SIZES" --qa-per-doc "$QA_PER_DOC" --seed "$SEED" \
        --threads "$t" --quiet $([[ $SAVE_GPT_OSS_FORMAT == true ]] && echo --gpt-oss) || continue
    if [[ -z $BEST ]] || awk -v a="$MEDIAN" -v b="$BEST" 'BEGIN { exit !(a < b) }'; then
        BEST=$MEDIAN BEST_T=$t BEST_RSS=$PEAK
    fi
done

PYTHON=${PYTHON:-}
if [[ -z $PYTHON ]]; then
    if [[ -x /work/venv-nb/bin/python ]]; then PYTHON=/work/venv-nb/bin/python; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c 'import polars, datasets, transformers' 2>/dev/null; then
    echo "== notebook baseline skipped: $PYTHON lacks polars/datasets/transformers"
    echo "   (python3 -m venv /work/venv-nb && /work/venv-nb/bin/pip install -r scripts/requirements-notebook.txt)"
    exit 0
fi

echo "== notebook_mix.py ($PYTHON), in rounds with knowmix around each run"
# The host's speed drifts by ±15% within minutes, so the ratio is taken
# round by round: two knowmix runs, one notebook run, two knowmix runs, and
# the notebook's time over the median of the four knowmix runs around it.
NB_WALLS=() RATIOS=() NB_RSS=0
# knowmix_t2 LABEL: the timed knowmix command, writing to $WORK/out-LABEL
# (which `bench` empties before each run, so no run resumes another).
knowmix_t2() {
    KNOWMIX_T2=("$KNOWMIX" mix --input "$CORPUS" --output "$WORK/out-$1" \
        --tokenizer "$TOKENIZER" --cut-sizes "$CUT_SIZES" --qa-per-doc "$QA_PER_DOC" \
        --seed "$SEED" --threads 2 --quiet)
    if [[ $SAVE_GPT_OSS_FORMAT == true ]]; then KNOWMIX_T2+=(--gpt-oss); fi
}
for ((round = 1; round <= PY_RUNS; round++)); do
    knowmix_t2 knowmix-round-a
    bench knowmix-round-a 2 "${KNOWMIX_T2[@]}" > /dev/null
    AROUND=("${WALLS[@]}")
    TOKENIZER_MODEL=$TOKENIZER bench notebook 1 "$PYTHON" "$ROOT/scripts/notebook_mix.py" \
        --input "$CORPUS" --output "$WORK/out-notebook" --seed "$SEED" > /dev/null
    NB_WALLS+=("$MEDIAN")
    NB_RSS=$(( PEAK > NB_RSS ? PEAK : NB_RSS ))
    NB_LINES=$(cat "$WORK/out-notebook"/training_mix/*.jsonl 2>/dev/null | wc -l)
    knowmix_t2 knowmix-round-b
    bench knowmix-round-b 2 "${KNOWMIX_T2[@]}" > /dev/null
    AROUND+=("${WALLS[@]}")
    K=$(printf '%s\n' "${AROUND[@]}" | median)
    RATIO=$(awk -v n="${NB_WALLS[-1]}" -v k="$K" 'BEGIN { printf "%.1f", n / k }')
    RATIOS+=("$RATIO")
    printf '   round %d: notebook %7.2f s (%s records), knowmix t2 %s -> median %.2f s: %sx\n' \
        "$round" "${NB_WALLS[-1]}" "$NB_LINES" "${AROUND[*]}" "$K" "$RATIO"
done
NB=$(printf '%s\n' "${NB_WALLS[@]}" | median)

echo "== summary ($MB MB corpus)"
if [[ -n $BEST ]]; then
    printf '   knowmix  (--threads %s): %8.2f s  peak RSS %6s MB\n' "$BEST_T" "$BEST" "$BEST_RSS"
fi
printf '   notebook               : %8.2f s  peak RSS %6s MB  (runs: %s)\n' "$NB" "$NB_RSS" "${NB_WALLS[*]}"
if [[ -n $BEST ]]; then
    awk -v n="$NB" -v k="$BEST" 'BEGIN { printf "   medians ratio: knowmix is %.1fx faster\n", n / k }'
else
    echo "   knowmix mix failed: no ratio"
fi
printf '   per-round ratios: %s -> median %sx\n' "${RATIOS[*]}" \
    "$(printf '%s\n' "${RATIOS[@]}" | median)"
[[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"/out-*
