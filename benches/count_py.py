#!/usr/bin/env python3
"""Python side of the token-counting benchmark (BENCHMARKS.md, "Token counting
per family"): HF `tokenizers` `encode_batch` on one thread, and `tiktoken` with
an Encoding built from the same tokenizer.json, on the records
`KNOWMIX_BENCH_DUMP=DIR cargo bench --bench count` wrote to DIR.

    RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
        python benches/count_py.py DIR

For each family it checks the total count against the Rust side's (and
tiktoken's against it), then prints the best of REPS passes in MiB/s (CPU
time of this process, so a busy machine matters less).

The tiktoken Encoding: `mergeable_ranks` maps each vocabulary token's bytes
(GPT-2 byte-level alphabet decoded) to its id, `pat_str` is the tokenizer's
single split regex, and the added tokens are its special tokens (encoded with
`allowed_special="all"`). That is only exact when the ids are merge ranks, as
for tiktoken-born vocabularies (cl100k, Llama 3, o200k, Qwen); families with
several split regexes (DeepSeek V3) or SentencePiece models have no tiktoken
equivalent and are skipped.
"""

import json
import os
import sys
import time

import tokenizers

REPS = 5
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = {
    "llama3": "llama-3.1-instruct",
    "gpt-oss": "gpt-oss",
    "qwen3": "qwen3",
    "deepseek-v3": "deepseek-v3",
    "cl100k": "cl100k",
    "llama2": "llama2",
    "gemma3": "gemma3",
}


def tokenizer_json(folder):
    path = os.path.join(ROOT, "fixtures", "tokenizers", folder, "tokenizer.json")
    if os.path.exists(path):
        return open(path, encoding="utf-8").read()
    import zstandard

    with open(path + ".zst", "rb") as f:
        return zstandard.ZstdDecompressor().stream_reader(f).read().decode("utf-8")


def byte_decoder():
    """Inverse of GPT-2's bytes_to_unicode."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def tiktoken_encoding(name, spec):
    """A tiktoken Encoding from tokenizer.json, or None if it has no equivalent."""
    import tiktoken

    pre = spec.get("pre_tokenizer") or {}
    splits = [p for p in pre.get("pretokenizers", []) if p.get("type") == "Split"]
    if len(splits) != 1 or spec["model"].get("byte_fallback"):
        return None
    dec = byte_decoder()
    ranks = {}
    for token, rank in spec["model"]["vocab"].items():
        if all(c in dec for c in token):
            ranks[bytes(dec[c] for c in token)] = rank
    specials = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
    return tiktoken.Encoding(
        name=f"knowmix-{name}",
        pat_str=splits[0]["pattern"]["Regex"],
        mergeable_ranks=ranks,
        special_tokens=specials,
    )


def best_mib_s(records, nbytes, count):
    best = None
    for _ in range(REPS):
        t0 = time.process_time()
        count(records)
        dt = time.process_time() - t0
        best = dt if best is None else min(best, dt)
    return nbytes / best / (1 << 20)


def main():
    dump = sys.argv[1]
    print("| family | HF Python encode_batch (1 thread) | tiktoken | counts |")
    print("|---|---|---|---|")
    for name, folder in FAMILIES.items():
        path = os.path.join(dump, f"{name}.json")
        if not os.path.exists(path):
            continue
        data = json.load(open(path, encoding="utf-8"))
        records, want = data["records"], data["tokens"]
        nbytes = sum(len(r.encode("utf-8")) for r in records)
        text = tokenizer_json(folder)
        hf = tokenizers.Tokenizer.from_str(text)

        def hf_count(rs):
            return sum(len(e.ids) for e in hf.encode_batch(rs, add_special_tokens=True))

        got = hf_count(records)
        hf_speed = best_mib_s(records, nbytes, hf_count)
        enc = tiktoken_encoding(name, json.loads(text))
        tk = "n/a"
        note = f"HF {got}" + (" = Rust" if got == want else f" != Rust {want}")
        if enc is not None:
            # HF's post-processor may add tokens tiktoken never does.
            extra = len(hf.encode("", add_special_tokens=True).ids)

            def tk_count(rs):
                return sum(len(enc.encode(r, allowed_special="all")) + extra for r in rs)

            tk_total = tk_count(records)
            tk = f"{best_mib_s(records, nbytes, tk_count):.2f} MiB/s"
            note += "; tiktoken " + ("=" if tk_total == want else f"{tk_total} !=") + " Rust"
        print(f"| {name} | {hf_speed:.2f} MiB/s | {tk} | {note} |", flush=True)


if __name__ == "__main__":
    main()
