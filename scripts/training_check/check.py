#!/usr/bin/env python3
"""Does knowmix's over-length report equal what training drops? (issue 15)

For one tokenizer, this runs `knowmix mix --max-seq-len M --min-len m` on a
step-03 folder, then instructlab-training's own data processing on every
cut file it wrote, and compares:

1. the cut's `over_length` in knowmix's manifest (too_long + too_short)
   with the records `instructlab.training.data_process.process_data` (the
   entry point of training's `data_process` step; its minimum length is
   fixed at 20) drops: the rows of its `data.jsonl` against the cut's rows;
2. per dataset and per kind, and with `--min-len m` (not only 20), the
   records training's `filter_samples_by_length(data, M, min_seq_len=m)`
   drops after training's own `load_and_validate_dataset`,
   `configure_tokenizer` and `process_samples` (the steps `process_data`
   runs before it), with the manifest's per-dataset counts;
3. (reported, not checked) every record's training length (`len`, which
   training filters on) with the plain estimate (`token_length` minus the
   tokens the tokenizer's post-processor adds); where they differ, (5)
   reruns both at that length, where knowmix must recount as training does;
4. the cut `knowmix mix --drop-over-length` writes with the records
   training keeps.

No training code is re-implemented here: lengths and the kept/dropped
decision come from instructlab-training's functions; this script only
counts. Exits 1 on any mismatch, naming the record and both lengths.

    python scripts/training_check/check.py --knowmix target/release/knowmix \\
        --tokenizer fixtures/tokenizers/qwen3 --max-seq-len 300 --min-len 20

Run by scripts/training_check.sh, which makes the venv (pinned versions in
scripts/training_check/requirements.txt).
"""

import argparse
import contextlib
import difflib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata

from instructlab.training import data_process as dp


# The `model_type` of each fixture tokenizer's model. Training reads a
# model folder: besides the tokenizer it loads the folder's config.json
# (`is_gpt_oss_model` reads its `model_type`), which the fixture tokenizer
# folders do not carry, so one with just that key is written next to them.
MODEL_TYPES = {
    "llama-3.1-instruct": "llama",
    "qwen3": "qwen3",
    "gpt-oss": "gpt_oss",
    "deepseek-v3": "deepseek_v3",
    "gemma3": "gemma3_text",
}


def model_dir(src, dest, model_type):
    """A model folder for training: the fixture tokenizer's files, `.zst`
    undone (transformers reads plain files only), and a config.json naming
    the model type."""
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, "config.json"), "w") as f:
        json.dump({"model_type": model_type}, f)
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if name.endswith(".zst"):
            subprocess.run(
                ["zstd", "-q", "-d", "-f", path, "-o", os.path.join(dest, name[:-4])],
                check=True,
            )
        else:
            shutil.copy(path, dest)
    return dest


def knowmix_mix(binary, input_dir, out, tokenizer, max_seq_len, min_len, extra=()):
    cmd = [
        binary, "mix", "--input", input_dir, "--output", out,
        "--tokenizer", tokenizer, "--max-seq-len", str(max_seq_len),
        "--min-len", str(min_len), "--quiet", *extra,
    ]
    env = {k: v for k, v in os.environ.items() if k != "MAX_SEQ_LEN"}
    subprocess.run(cmd, check=True, env=env)
    with open(os.path.join(out, "training_mix", "manifest.json")) as f:
        return json.load(f)


def knowmix_added_tokens(binary, tokenizer, work):
    """What knowmix's tokenizer adds to any text (its post-processor's BOS):
    the token_length `knowmix tokens --template none` gives an empty text."""
    src = os.path.join(work, "empty.jsonl")
    with open(src, "w") as f:
        f.write('{"text":""}\n')
    out = subprocess.run(
        [binary, "tokens", "--template", "none", "--tokenizer", tokenizer, src],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.splitlines()[0])["token_length"]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cut_path(out, cut):
    return os.path.join(out, "training_mix", cut["file"])


def training_process_data(cut_file, model_path, max_seq_len, out_dir):
    """instructlab-training's data_process entry point, as training_hub
    calls it; returns the rows of the data.jsonl it writes."""
    dp.process_data(
        data_path=cut_file,
        data_output_path=out_dir,
        max_seq_len=max_seq_len,
        model_path=model_path,
        num_cpu_procs=1,
    )
    return read_jsonl(os.path.join(out_dir, "data.jsonl"))


def training_lengths(cut_file, model_path, max_seq_len, min_len):
    """Training's steps before its length filter, then the filter with
    `min_len`: the processed records (`len`, `input_ids`), the indices the
    filter keeps, and training's tokenizer."""
    data = dp.load_and_validate_dataset(cut_file, 1)
    tokenizer = dp.configure_tokenizer(model_path)
    processed = dp.process_samples(data, tokenizer, 1)
    processed = processed.add_column("knowmix_index", list(range(len(processed))))
    kept = dp.filter_samples_by_length(processed, max_seq_len, min_seq_len=min_len)
    return processed, set(kept["knowmix_index"]), tokenizer


def dataset_ranges(cut):
    """A cut holds its datasets one after another, in manifest order."""
    start = 0
    for entry in cut["datasets"]:
        yield entry, range(start, start + entry["samples"])
        start += entry["samples"]
    if start != cut["samples"]:
        raise SystemExit(f"{cut['file']}: datasets sum to {start}, cut has {cut['samples']}")


class Checker:
    """Prints each comparison and remembers the failed ones."""

    def __init__(self, label):
        self.label = label
        self.failures = []

    def equal(self, what, ours, theirs):
        ok = ours == theirs
        print(f"  {'ok  ' if ok else 'FAIL'} {what}: knowmix {ours}, training {theirs}")
        if not ok:
            self.failures.append(what)
        return ok


def split(indices, lens, max_seq_len):
    """(too_long, too_short) of the dropped `indices`: a dropped record is
    too long when its length reaches max_seq_len, else too short."""
    long_ = sum(1 for i in indices if lens[i] >= max_seq_len)
    return long_, len(indices) - long_


def run_process_data(chk, path, hf_dir, max_seq_len, out_dir):
    t0 = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        kept_rows = training_process_data(path, hf_dir, max_seq_len, out_dir)
    print(f"  process_data (max_seq_len {max_seq_len}): {time.time() - t0:.1f} s, "
          f"kept {len(kept_rows)}")
    return kept_rows


def check_cut(args, chk, cut, out, drop_out, hf_dir, added, work):
    path = cut_path(out, cut)
    records = read_jsonl(path)
    over = cut["over_length"]
    print(f"{chk.label} {cut['file']}: {len(records)} records, knowmix over_length {over}")

    # 1. The real entry point (its minimum is fixed at 20).
    kept_rows = run_process_data(chk, path, hf_dir, args.max_seq_len,
                                 os.path.join(work, "dp-" + cut["file"]))
    if args.min_len == 20:
        chk.equal("dropped by process_data (too_long + too_short)",
                  over["too_long"] + over["too_short"], len(records) - len(kept_rows))

    # 2. Per dataset, and with --min-len: training's steps, then its filter.
    processed, kept, tokenizer = training_lengths(path, hf_dir, args.max_seq_len, args.min_len)
    lens = processed["len"]
    if args.min_len == 20:
        chk.equal("process_data's kept lens == step-by-step kept lens",
                  [r["len"] for r in kept_rows] == [lens[i] for i in sorted(kept)], True)
    for entry, rng in dataset_ranges(cut):
        e = entry["over_length"]
        chk.equal(f"{entry['dataset']} (too_long, too_short)", (e["too_long"], e["too_short"]),
                  split([i for i in rng if i not in kept], lens, args.max_seq_len))
    chk.equal("cut (too_long, too_short)", (over["too_long"], over["too_short"]),
              split([i for i in range(len(records)) if i not in kept], lens, args.max_seq_len))

    # 3. Every record's plain estimate (token_length, the notebook's, minus
    # the post-processor's tokens) against training's length. They may
    # differ (training wraps turns in unmask markers); knowmix recounts as
    # training does where that can change a record's fate, which the
    # probe (5) checks at exactly such a length.
    ours = [r["token_length"] - added for r in records]
    differ = [i for i in range(len(records)) if ours[i] != lens[i]]
    print(f"  records whose plain estimate differs from training's len: {len(differ)}")
    names = {i: e["dataset"] for e, rng in dataset_ranges(cut) for i in rng}
    for i in differ[: args.show]:
        show_record(i, names[i], records[i], ours[i], processed[i]["input_ids"], tokenizer)
    print(f"  training len: min {min(lens)}, max {max(lens)}; kept {len(kept)} of {len(records)}")

    # 4. --drop-over-length writes what training keeps.
    for c in drop_out["cuts"]:
        if c["cut_size"] == cut["cut_size"]:
            ours_kept = read_jsonl(cut_path(args.drop_dir, c))
            same = ours_kept == [records[i] for i in sorted(kept)]
            chk.equal("--drop-over-length cut == records training keeps (count, same records)",
                      (len(ours_kept), True), (len(kept), same))

    # 5. Where lengths differ, the max_seq_len at which the counts do too.
    if differ and args.probe:
        probe(args, chk, cut, path, records, ours, lens, differ, hf_dir, work)


def probe(args, chk, cut, path, records, ours, lens, differ, hf_dir, work):
    """Rerun both at max_seq_len = the larger length of the first differing
    record: one side keeps it, the other drops it."""
    i = differ[0]
    m = max(ours[i], lens[i])
    manifest = knowmix_mix(args.knowmix, args.input, os.path.join(work, f"probe-{m}"),
                           args.tokenizer, m, 20, args.mix_arg)
    over = next(c for c in manifest["cuts"] if c["cut_size"] == cut["cut_size"])["over_length"]
    kept_rows = run_process_data(chk, path, hf_dir, m, os.path.join(work, f"dp-probe-{m}"))
    chk.equal(f"at max_seq_len {m} (record {i}'s length), dropped",
              over["too_long"] + over["too_short"], len(records) - len(kept_rows))


def show_record(i, dataset, record, ours, training_ids, tokenizer):
    """What training tokenized differently from the plain chat template
    (the render knowmix counts, as the notebook's token_length does)."""
    plain = tokenizer.apply_chat_template(record["messages"], return_dict=False)
    a = [tokenizer.decode([t]) for t in plain]
    b = [tokenizer.decode([t]) for t in training_ids]
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    diffs = [(a[i1:i2], b[j1:j2]) for op, i1, i2, j1, j2 in ops if op != "equal"]
    print(f"    record {i} ({dataset}): knowmix {ours}, training {len(training_ids)} "
          f"(token_length {record['token_length']}); "
          f"plain template -> training's tokens: {diffs[:3]}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--knowmix", required=True)
    p.add_argument("--input", default="fixtures/step_03")
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--max-seq-len", type=int, required=True)
    p.add_argument("--min-len", type=int, default=20)
    p.add_argument("--model-type", help="config.json model_type (default: by folder name)")
    p.add_argument("--mix-arg", action="append", default=[],
                   help="extra `knowmix mix` argument (repeatable)")
    p.add_argument("--show", type=int, default=5, help="differing records to print")
    p.add_argument("--no-probe", dest="probe", action="store_false",
                   help="do not rerun at a max_seq_len where lengths differ")
    p.add_argument("--keep", help="work folder to keep (default: a temp folder)")
    args = p.parse_args()

    logging.disable(logging.WARNING)
    import datasets

    datasets.disable_progress_bars()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.keep or tempfile.mkdtemp(prefix="knowmix-train-check-")
    name = os.path.basename(os.path.normpath(args.tokenizer))
    chk = Checker(f"[{' '.join([name, f'M={args.max_seq_len}', f'm={args.min_len}', *args.mix_arg])}]")
    print(
        f"{chk.label} instructlab-training {metadata.version('instructlab-training')}, "
        f"transformers {metadata.version('transformers')}, "
        f"datasets {metadata.version('datasets')}, torch {metadata.version('torch')}"
    )
    model_type = args.model_type or MODEL_TYPES.get(name)
    if not model_type:
        raise SystemExit(f"--model-type: no default for tokenizer folder {name!r}")
    hf_dir = model_dir(args.tokenizer, os.path.join(work, "model"), model_type)
    out = os.path.join(work, "mix")
    args.drop_dir = os.path.join(work, "mix-dropped")
    manifest = knowmix_mix(args.knowmix, args.input, out, args.tokenizer,
                           args.max_seq_len, args.min_len, args.mix_arg)
    drop_out = knowmix_mix(args.knowmix, args.input, args.drop_dir, args.tokenizer,
                           args.max_seq_len, args.min_len,
                           [*args.mix_arg, "--drop-over-length"])
    added = knowmix_added_tokens(args.knowmix, args.tokenizer, work)
    print(f"{chk.label} knowmix: post-processor adds {added} token(s)")
    if not manifest["cuts"]:
        raise SystemExit("knowmix wrote no cut")
    for cut in manifest["cuts"]:
        check_cut(args, chk, cut, out, drop_out, hf_dir, added, work)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if chk.failures:
        print(f"{chk.label} MISMATCH: {', '.join(chk.failures)}")
        sys.exit(1)
    print(f"{chk.label} all equal")


if __name__ == "__main__":
    main()
