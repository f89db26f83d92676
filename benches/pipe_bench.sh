#!/usr/bin/env bash
# Pipe-command benchmarks (benches/PIPE_BENCHMARKS.md): knowmix tokens and
# sample beside plumbing floors, median of hyperfine runs. Needs jq, zstd,
# hyperfine and a release build. Input is kept under /tmp.
set -euo pipefail
K=${K:-$(pwd)/target/release/knowmix}
TOK=${TOK:-$(pwd)/fixtures/tokenizers/llama-3.1-instruct}
W=${W:-/tmp/pipebench}
mkdir -p "$W"
if [ ! -f "$W/in.jsonl" ]; then
  "$K" synth --target-bytes 200MB --output "$W/s3" -q
  "$K" mix --input "$W/s3" --output "$W/s4" --tokenizer "$TOK" --cut-sizes 5 -q
  sed -E 's/,"token_length":[0-9]+\}$/}/' "$W/s4/training_mix/combined_cut_5x.jsonl" > "$W/in.jsonl"
  zstd -q -T2 -f "$W/in.jsonl" -o "$W/in.jsonl.zst"
fi
ls -l "$W/in.jsonl" "$W/in.jsonl.zst"; wc -l < "$W/in.jsonl"
hyperfine --runs "${RUNS:-3}" --export-json "$W/pipe.json" \
  "zstdcat $W/in.jsonl.zst | wc -l" \
  "jq -c . < $W/in.jsonl > /dev/null" \
  "$K tokens --tokenizer $TOK --threads 1 < $W/in.jsonl > /dev/null" \
  "$K tokens --tokenizer $TOK --threads 2 < $W/in.jsonl > /dev/null" \
  "zstdcat $W/in.jsonl.zst | $K tokens --tokenizer $TOK --threads 2 > /dev/null" \
  "$K sample -n 10000 < $W/in.jsonl > /dev/null" \
  "$K sample -n 10000 $W/in.jsonl > /dev/null" \
  "cat $W/in.jsonl > /dev/null"
jq -r '.results[] | "\(.median)\t\(.command)"' "$W/pipe.json"
