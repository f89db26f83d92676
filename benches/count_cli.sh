#!/bin/bash
# Token counting per family via the CLI (BENCHMARKS.md): fast counter vs HF Rust counter.
# Needs /tmp/cnt from benches/count_cli_gen.py (run in /tmp/cnt), x10-$F.jsonl (10 copies) and
# /tmp/cnt/hf-$F/tokenizer.json (the fixture with "padding" set). K = the knowmix binary.
fam=$1; K=${KNOWMIX:-knowmix}; export KNOWMIX_CACHE_DIR=/tmp/kmcache-tok16
cpu() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/tmp/cnt/out.$$ | tail -1 | awk '{print $1+$2}'; }
tot() { python3 -c "import json,sys; print(sum(json.loads(l)['token_length'] for l in open('/tmp/cnt/out.$$')))"; }
: > /tmp/cnt/empty.jsonl
T=/work/wt/tok16/fixtures/tokenizers/$fam
fl=$(cpu $K tokens --template none --threads 1 --tokenizer $T /tmp/cnt/empty.jsonl)
f=$(cpu $K tokens --template none --threads 1 --tokenizer $T /tmp/cnt/x10-$fam.jsonl); ft=$(tot)
hl=$(cpu $K tokens --template none --threads 1 --tokenizer /tmp/cnt/hf-$fam /tmp/cnt/empty.jsonl)
h=$(cpu $K tokens --template none --threads 1 --tokenizer /tmp/cnt/hf-$fam /tmp/cnt/$fam.jsonl); ht=$(tot)
mb=$(stat -c %s /tmp/cnt/$fam.jsonl)
python3 -c "
mb=$mb/2**20; f=($f-$fl)/10; h=$h-$hl
print(f'| $fam | {mb/h:.2f} MiB/s | {mb/f:.1f} MiB/s | {h/f:.0f}x | $ft = 10 x $ht |' if $ft==10*$ht else 'MISMATCH $fam $ft $ht')"
rm -f /tmp/cnt/out.$$
