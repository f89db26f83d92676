#!/usr/bin/env python3
"""The Step-04 "Knowledge Mixing" notebook's logic as a script: the baseline
knowmix is measured and diffed against.

It does what the notebook (and its utils/knowledge_utils.py) does, with the
same libraries: HF `datasets` to load each step-03 folder, polars to sample and
build the records, `transformers` to count tokens, HF/pandas `to_json` to
write `combined_cut_{N}x.jsonl`. Behaviour kept on purpose, quirks included:

* summaries are grouped by the `document` text alone (a summary shared by two
  raw documents becomes one group, attached to its first raw document);
* the reasoning column is only used for the sampled datasets (extractive,
  detailed); key-facts and document-based rows always get `thinking: ""`;
* polars cleans `response` by removing `[END]` then `[ANSWER]`, then
  `strip_chars()`; with SAVE_GPT_OSS_FORMAT the HF filter first removes
  `[ANSWER]` then `[END]` and applies Python's `str.strip()`.

The only addition is `--seed`: the notebook samples unseeded; with a seed the
group-bys keep their order so the draw is reproducible.

Environment (also read from ./.env): TOKENIZER_MODEL_NAME or TOKENIZER_MODEL,
CUT_SIZES (default 5,50), QA_PER_DOC (default 3), SAVE_GPT_OSS_FORMAT.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import polars as pl
from datasets import Dataset, concatenate_datasets, load_dataset
from transformers import AutoTokenizer

try:
    from tabulate import tabulate
except ImportError:  # the notebook has it; keep the script usable without
    tabulate = None

try:
    from dotenv import load_dotenv
except ImportError:
    load_dotenv = None

DATASETS = ["extractive_summary", "detailed_summary", "key_facts_to_qa", "document_based_qa"]
SAMPLED = {"extractive_summary", "detailed_summary"}
KEEP = ["question", "document_outline", "raw_document", "document"]
REQUIRED = ["question", "response", "document", "raw_document", "document_outline"]
REASONING = "parse_response_dict_reasoning_content"


def settings():
    if load_dotenv is not None:
        load_dotenv()
    model = os.getenv("TOKENIZER_MODEL_NAME") or os.getenv("TOKENIZER_MODEL") or "RedHatAI/Llama-3.1-8B-Instruct"
    gpt_oss = os.getenv("SAVE_GPT_OSS_FORMAT", "false").lower() == "true"
    cuts = [int(x.strip()) for x in os.getenv("CUT_SIZES", "5,50").split(",")]
    qa_per_doc = int(os.getenv("QA_PER_DOC", "3"))
    return model, gpt_oss, cuts, qa_per_doc


# ---- loading ---------------------------------------------------------------

def gpt_oss_filter(ds):
    before = len(ds)
    ds = ds.filter(
        lambda x: "..." not in x["question"]
        and "<question>" not in x["question"]
        and "<Insert question here>" not in x["question"]
    )
    ds = ds.map(lambda x: {"response": x["response"].replace("[ANSWER]", "").replace("[END]", "").strip()})
    print(f"  Filtered {before - len(ds)} samples (kept {len(ds)})")
    return ds


def load_one(input_dir, name, gpt_oss):
    folder = Path(input_dir) / name
    if not folder.exists():
        print(f"⚠️  Warning: File not found: {folder}")
        return None
    print(f"Loading {name} from: {folder}")
    ds = load_dataset("json", data_dir=str(folder), split="train")
    if name == "document_based_qa":
        ds = ds.rename_column("base_document", "raw_document")
    if gpt_oss:
        ds = gpt_oss_filter(ds)
    print(f"  Loaded {name}: {len(ds)} samples")
    return ds.to_polars()


def load_all(input_dir, gpt_oss):
    loaded = {}
    for name in DATASETS:
        df = load_one(input_dir, name, gpt_oss)
        if df is not None:
            loaded[name] = df
    if not loaded:
        raise ValueError("No datasets were successfully loaded!")
    return loaded


# ---- sampling ----------------------------------------------------------------

def avg_summaries_per_raw_doc(df):
    counts = df.group_by("raw_document").agg(pl.col("document").n_unique().alias("unique_summaries"))
    return counts["unique_summaries"].mean()


def sample_doc_qa(df, n_docs_per_raw, qa_per_doc, seed=None):
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"Missing required columns: {missing}")
    avg = avg_summaries_per_raw_doc(df)
    if avg < n_docs_per_raw:
        print(f"⚠️ Warning: Cut size {n_docs_per_raw} exceeds available summaries (avg: {avg:.1f} per raw document)")
    df = df.with_columns(pl.struct(["question", "response"]).alias("qa_pair"))
    aggs = [pl.col("qa_pair"), pl.col("raw_document").first(), pl.col("document_outline").first()]
    if REASONING in df.columns:
        df = df.with_columns(pl.col(REASONING).alias("reasoning"))
        aggs.append(pl.col("reasoning").first())
    ordered = seed is not None
    per_summary = df.group_by("document", maintain_order=ordered).agg(aggs)
    sampled = per_summary.group_by("raw_document", maintain_order=ordered).map_groups(
        lambda g: g.sample(n=min(n_docs_per_raw, g.height), seed=seed)
    )
    sampled = sampled.with_columns(pl.col("qa_pair").list.slice(0, qa_per_doc)).explode(pl.col("qa_pair"))
    return sampled.with_columns(
        pl.col("qa_pair").struct.field("question").alias("question"),
        pl.col("qa_pair").struct.field("response").alias("response"),
    ).drop("qa_pair")


# ---- records -----------------------------------------------------------------

def user_content(rec, with_document):
    if with_document:
        return f"{rec['document_outline']}\n{rec['document']}\n\n{rec['question']}"
    return f"In {rec['document_outline']}, {rec['question']}"


def messages_fn(with_document, with_reasoning):
    def build(rec):
        return [
            {"role": "user", "content": user_content(rec, with_document), "thinking": None},
            {"role": "assistant", "content": rec["response"],
             "thinking": rec["reasoning"] if with_reasoning else ""},
        ]
    return build


def knowledge_records(df, with_document):
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"Missing required columns: {missing}")
    df = df.with_columns(
        pl.col("response").str.replace_all(r"\[END\]", "").str.replace_all(r"\[ANSWER\]", "").str.strip_chars()
    )
    metadata = (
        pl.struct([pl.col("document").alias("sdg_document"), pl.lit("document_knowledge_qa").alias("dataset"),
                   pl.col("raw_document")])
        .map_elements(json.dumps)
        .alias("metadata")
    )
    has_reasoning = "reasoning" in df.columns
    cols = ["question", "response", "document", "document_outline"] + (["reasoning"] if has_reasoning else [])
    messages = pl.struct(cols).map_elements(messages_fn(with_document, has_reasoning)).alias("messages")
    out = df.with_columns([metadata, messages]).select(KEEP + ["messages", "metadata"])
    return out.with_columns(pl.lit(True).alias("unmask"))


def count_tokens(df, tok):
    def length(messages):
        return len(tok.encode(tok.apply_chat_template(messages, tokenize=False)))
    return df.with_columns(
        pl.col("messages").map_elements(length, return_dtype=pl.Int32).alias("token_length")
    )


# ---- cuts --------------------------------------------------------------------

def feasible_cuts(loaded, cuts):
    keep = set(cuts)
    print("🔍 Validating cut sizes against available data...")
    for name, df in loaded.items():
        if name not in SAMPLED:
            print(f"\n📊 Skipping {name}:")
            continue
        print(f"\n📊 Checking {name}:")
        for cut in cuts:
            avg = avg_summaries_per_raw_doc(df)
            ok = avg >= cut
            print(f"  Cut {cut}: {'✅ Feasible' if ok else '❌ Too large'} (avg summaries per raw doc: {avg:.1f})")
            if not ok:
                keep.discard(cut)
    final = sorted(keep)
    if len(final) < len(cuts):
        print(f"\n⚠️  Removing infeasible cuts: {sorted(set(cuts) - keep)}")
    print(f"\n✅ Final feasible cuts: {final}")
    return final


def process_dataset(name, df, cut, tok, qa_per_doc, seed):
    print(f"  Processing {name}...")
    if name == "key_facts_to_qa":
        out = knowledge_records(df, with_document=False)
    else:
        picked = sample_doc_qa(df, cut, qa_per_doc, seed) if name in SAMPLED else df
        out = knowledge_records(picked, with_document=True)
    ds = Dataset.from_polars(count_tokens(out, tok))
    docs, raws = len(set(ds["document"])), len(set(ds["raw_document"]))
    per_raw = docs / raws if raws else 0
    print(f"    ✅ Processed {len(ds)} samples ({per_raw:.1f} summaries per raw doc)")
    return ds, {"samples": len(ds), "total_tokens": sum(ds["token_length"])}


def process_cut(cut, loaded, tok, qa_per_doc, out_dir, seed):
    print(f"\n📊 Processing cut size: {cut}")
    parts, stats = [], {}
    for name, df in loaded.items():
        try:
            ds, st = process_dataset(name, df, cut, tok, qa_per_doc, seed)
        except Exception as e:  # the notebook reports and goes on without it
            print(f"    ❌ Error processing {name}: {e}")
            continue
        parts.append(ds)
        stats[name] = st
    if not parts:
        print(f"  ❌ No datasets processed for cut size {cut}")
        return None
    combined = concatenate_datasets(parts)
    total = sum(combined["token_length"])
    path = os.path.join(out_dir, f"combined_cut_{cut}x.jsonl")
    combined.to_json(path, orient="records", lines=True)
    print(f"  💾 Saved to: {path}")
    print(f"  📈 Total samples: {len(combined)}")
    print(f"  🔢 Total tokens: {total:,}")
    print("  📋 Summary statistics:")
    for name, st in stats.items():
        print(f"    {name}: {st['samples']} samples, {st['total_tokens']:,} tokens")
    return (cut, total, len(combined))


def print_summary(rows):
    if not rows:
        print("\n❌ No datasets were successfully processed!")
        return
    print("\n" + "=" * 50)
    print("📊 FINAL SUMMARY")
    print("=" * 50)
    headers = ["Cut Size", "Total Tokens", "Total Samples"]
    if tabulate is not None:
        print(tabulate(rows, headers=headers, tablefmt="github", numalign="right"))
    else:
        print(" | ".join(headers))
        for r in rows:
            print(" | ".join(str(x) for x in r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default="output/step_03", help="the step-03 folder")
    ap.add_argument("--output", default="output/step_04", help="files go to OUTPUT/training_mix/")
    ap.add_argument("--seed", type=int, default=None, help="seed the summary draw (the notebook does not)")
    ap.add_argument("--all-summaries", action="store_true",
                    help="golden-making aid, not in the notebook: skip the feasibility check and keep "
                         "every summary (one file, combined_cut_1000000x.jsonl)")
    args = ap.parse_args()
    model, gpt_oss, cuts, qa_per_doc = settings()
    print(f"Student model: {model}\nGPT OSS format: {gpt_oss}\nCut sizes: {cuts}\nQ&A pairs per document: {qa_per_doc}")
    out_dir = os.path.join(args.output, "training_mix")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    print(f"Loading tokenizer: {model}")
    tok = AutoTokenizer.from_pretrained(model, trust_remote_code=True)
    loaded = load_all(args.input, gpt_oss)
    cuts_ok = [1_000_000] if args.all_summaries else feasible_cuts(loaded, cuts)
    if not cuts_ok:
        print("\n❌ No feasible cuts found! Check your data or reduce cut sizes.")
        return 1
    print(f"\nProcessing {len(cuts_ok)} feasible cut sizes...")
    rows = [r for c in cuts_ok if (r := process_cut(c, loaded, tok, qa_per_doc, out_dir, args.seed))]
    print_summary(rows)
    print(f"\nelapsed: {time.perf_counter() - start:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
