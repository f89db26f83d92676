#!/usr/bin/env bash
# Issue 15's end-to-end check: do knowmix's `over_length` counts (and every
# record's training length) equal what instructlab-training's own data
# processing drops on the same cut file?
#
# Makes a venv outside the repository with instructlab-training 0.16.2 and
# everything it needs pinned (scripts/training_check/requirements.txt; torch
# is PyPI's build, about 3.2 GB to download, ~5 min to install on 2 cores),
# then for each case below runs `knowmix mix --max-seq-len M --min-len m` on
# fixtures/step_03 and training's `process_data` (and the functions it is
# made of) on the cut, via scripts/training_check/check.py. Exits 1 when any
# case differs.
#
#   bash scripts/training_check.sh                      # every case
#   TRAINING_CHECK_CASES="llama qwen3" bash scripts/training_check.sh
#   KNOWMIX_BINARY=/path/to/knowmix KNOWMIX_TRAIN_VENV=/tmp/v bash scripts/training_check.sh
#
# KNOWMIX_BINARY defaults to target/release/knowmix (build it first).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${KNOWMIX_TRAIN_VENV:-/tmp/knowmix-train-venv}
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
binary=${KNOWMIX_BINARY:-$root/target/release/knowmix}
requirements=scripts/training_check/requirements.txt

[ -x "$binary" ] || { echo "training_check: no knowmix binary at $binary (cargo build --release, or set KNOWMIX_BINARY)" >&2; exit 2; }
command -v zstd >/dev/null || { echo "training_check: needs the zstd command (fixture tokenizers are .zst)" >&2; exit 2; }

# The venv is reused while it was made from this requirements file.
stamp=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$venv/.knowmix-requirements" 2>/dev/null)" != "$stamp" ]; then
    start=$(date +%s)
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off -r "$requirements"
    echo "$stamp" > "$venv/.knowmix-requirements"
    echo "training_check: venv made in $(($(date +%s) - start)) s ($(du -sh "$venv" | cut -f1))"
fi

# name: tokenizer folder, max_seq_len, min_len, extra `knowmix mix` arguments.
declare -A cases=(
    [llama]="llama-3.1-instruct 300 20"
    [qwen3]="qwen3 300 20"
    [qwen3-omit-empty]="qwen3 300 20 --thinking=omit-empty"
    [gpt-oss]="gpt-oss 300 20"
    [deepseek-min-len]="deepseek-v3 300 100"
    [gemma3]="gemma3 300 20"
)
order=${TRAINING_CHECK_CASES:-llama qwen3 qwen3-omit-empty gpt-oss deepseek-min-len gemma3}

failed=()
for name in $order; do
    [ -n "${cases[$name]:-}" ] || { echo "training_check: unknown case $name (one of: ${!cases[*]})" >&2; exit 2; }
    read -r tokenizer max min extra <<< "${cases[$name]}"
    start=$(date +%s)
    args=(--knowmix "$binary" --input fixtures/step_03 --tokenizer "fixtures/tokenizers/$tokenizer"
          --max-seq-len "$max" --min-len "$min")
    [ -z "${extra:-}" ] || args+=(--mix-arg="$extra")
    if "$venv/bin/python" scripts/training_check/check.py "${args[@]}"; then
        result=ok
    else
        result=MISMATCH
        failed+=("$name")
    fi
    echo "training_check: $name: $result in $(($(date +%s) - start)) s"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "training_check: knowmix and instructlab-training differ in: ${failed[*]}"
    exit 1
fi
echo "training_check: every case matches instructlab-training"
