#!/usr/bin/env python3
"""Generate the golden files knowmix's render/tokenize tests compare against.

For a few hundred seeded, adversarial step-04 conversations this records what
transformers 5 writes for

    rendered = tok.apply_chat_template(messages, tokenize=False)
    token_length = len(tok.encode(rendered))

for each fixture tokenizer (loaded offline from fixtures/tokenizers/<name>).
The date that gpt-oss's template gets from `strftime_now` is frozen to
FROZEN_NOW. Run from the repository root:

    /work/venv-tok/bin/python scripts/goldens/make_goldens.py

Outputs (overwritten): fixtures/goldens/conversations.jsonl and
fixtures/goldens/<tokenizer>.jsonl, plus fixtures/goldens/README.md.

`--only NAME ...` writes just those tokenizers' goldens (conversations.jsonl
and README.md are left alone), e.g. to add a family without touching the
others. Fixture folders holding `NAME.zst` files are decompressed into a
temporary folder first (transformers reads plain files only).
"""

import datetime as _dt
import json
import os
import random
import shutil
import sys
import tempfile

import jinja2
import tokenizers
import transformers
from transformers import AutoTokenizer
from transformers.utils import chat_template_utils

SEED = 20260115
N_CONVERSATIONS = 320
N_LONG = 4
LONG_CHARS = 50_000
FROZEN_NOW = _dt.datetime(2026, 1, 15, 12, 0, 0)
TOKENIZERS = ["llama-3.1-instruct", "gpt-oss", "qwen3", "deepseek-v3", "gemma3"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fixtures", "goldens")
# gpt-oss's template raises on these inside assistant content/thinking.
GPT_OSS_FORBIDDEN = ("<|channel|>analysis<|message|>", "<|channel|>final<|message|>")


class _FrozenDatetime(_dt.datetime):
    """`datetime` whose now() is FROZEN_NOW (patched into transformers)."""

    @classmethod
    def now(cls, tz=None):
        return FROZEN_NOW


chat_template_utils.datetime = _FrozenDatetime

# Every char Python's str.isspace() accepts: Rust's char::is_whitespace plus \x1c-\x1f.
PY_SPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]
# Look like space but are not (for str.strip): ZWSP, ZWNJ, ZWJ, WJ, BOM, Mongolian vowel sep.
NOT_SPACE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e"]

SCRIPTS = [
    "Ça coûte 12 € — naïve façade, Straße, ÆØÅ æøå, İstanbul ılık",
    "Ελληνικά: Η γρήγορη καφέ αλεπού πηδάει",
    "Русский текст: съешь же ещё этих мягких французских булок",
    "العربية: النص العربي من اليمين إلى اليسار ١٢٣",
    "עברית: שלום עולם",
    "हिन्दी: नमस्ते दुनिया, क्षत्रिय",
    "বাংলা: আমার সোনার বাংলা",
    "தமிழ்: வணக்கம் உலகம்",
    "ไทย: สวัสดีชาวโลก",
    "中文：机器学习模型的训练数据。漢字繁體",
    "日本語：ひらがな、カタカナ、ｶﾀｶﾅ半角、漢字",
    "한국어: 안녕하세요 세계",
    "ქართული: გამარჯობა",
    "Հայերեն: Բարեւ աշխարհ",
    "አማርኛ: ሰላም ልዑል",
    "Tiếng Việt: Xin chào thế giới, người",
    "ᠮᠣᠩᠭᠣᠯ\u180eᠪᠢᠴᠢᠭ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 ∑∫∂√∞ ≠ ≤ ≥ ±",
]
EMOJI = [
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "🧑🏿‍🚀", "1️⃣", "🫠", "😶‍🌫️",
]
COMBINING = [
    "e\u0301", "n\u0303", "a\u0308\u0301", "Z\u0351\u0357\u0316a\u0364\u0326l\u0350g\u0315o\u0353",
    "\u0915\u094d\u0937", "\u1100\u1161\u11a8", "i\u0307",
]
CONTROL = [
    "\x00", "\x01", "\x07", "\x08", "\x1b[31m", "\x1c", "\x1d", "\x1e", "\x1f", "\x7f",
    "\r\n", "\r", "\t", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\u200e", "\u202e",
]
SPECIAL = [
    "<|eot_id|>", "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>user<|end_header_id|>",
    "<|reserved_special_token_3|>", "<|python_tag|>", "<|eom_id|>", "<|start|>", "<|end|>",
    "<|message|>", "<|channel|>", "<|return|>", "<|call|>", "<|startoftext|>", "<|endoftext|>",
    "<|constrain|>", "<|eot_id", "<|im_start|>", "</s>", "<s>", "[INST]", "[END]", "[ANSWER]",
]
JSONISH = [
    '{"key": "value", "n": 1.5e-7, "ok": true, "none": null}',
    '"quoted \\"escaped\\" string"',
    "C:\\Users\\name\\file.txt and \\n not a newline \\u00e9",
    "[1, 2, {\"a\": [\"b\", \"c\"]}]",
    "'single' `back` \"double\" «guillemets» „low“",
    "<b>html &amp; entities &lt;tag&gt;</b> & < > '",
    "{{ not_a_variable }} {% if x %}jinja{% endif %} {# comment #}",
    "$x^2 + y_i = \\frac{1}{2}$",
]
WORDS = (
    "the model learns facts from documents and answers questions about revenue growth "
    "in fiscal year twenty twenty four while the board approved a dividend of 0.25 per share"
).split()
REASONING = [
    "First, find the relevant sentence. The document says revenue grew 12%. So the answer is 12%.",
    "Let me think step by step.\n1. The outline is about X.\n2. The question asks Y.\nTherefore Z.",
    "  Hmm... the user asks about <|eot_id|>? I should answer plainly.  ",
    "推理：文档提到了三个要点。",
]


def words(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def atom(rng):
    pool = rng.choice(["words", "words", "script", "emoji", "comb", "ctrl", "special", "json", "dots"])
    if pool == "words":
        return words(rng, 1, 25)
    if pool == "script":
        return rng.choice(SCRIPTS)
    if pool == "emoji":
        return "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4)))
    if pool == "comb":
        return rng.choice(COMBINING)
    if pool == "ctrl":
        return rng.choice(CONTROL)
    if pool == "special":
        return rng.choice(SPECIAL)
    if pool == "json":
        return rng.choice(JSONISH)
    return rng.choice(["...", "…", "What happened next...?", ". . .", "...."])


def edge_space(rng):
    """Leading/trailing junk that str.strip() and str::trim treat differently."""
    kind = rng.random()
    if kind < 0.4:
        return ""
    if kind < 0.7:
        return "".join(rng.choice(PY_SPACE) for _ in range(rng.randint(1, 4)))
    return rng.choice(NOT_SPACE + ["\x1c", "\x1f \n", " \x1d", "\u3000", "\x85", "\x00 "])


def text(rng, lo=1, hi=6):
    seps = [" ", " ", "\n", "\n\n", "", "\t", ", "]
    body = ""
    for i in range(rng.randint(lo, hi)):
        body += (rng.choice(seps) if i else "") + atom(rng)
    return edge_space(rng) + body + edge_space(rng)


def step04_user(rng, outline, document, question):
    if rng.random() < 0.7:
        return f"{outline}\n{document}\n\n{question}"
    return f"In {outline}, {question}"


def thinking_value(rng):
    r = rng.random()
    if r < 0.55:
        return ""
    if r < 0.65:
        return None
    if r < 0.8:
        return rng.choice(REASONING)
    return text(rng, 1, 4)


def special_cases():
    """Hand-written conversations: (user, assistant, thinking)."""
    ws = "".join(PY_SPACE)
    return [
        ("", "", ""),
        ("", "", None),
        (" ", " ", " "),
        (ws, ws, ws),
        ("\x1c\x1d\x1e\x1f", "\x1f answer \x1c", ""),
        ("\u3000question\u3000", "\u00a0answer\u00a0", ""),
        ("\ufeffBOM question\ufeff", "\u200banswer\u200b", ""),
        ("\x00", "\x00", "\x00"),
        ("line1\r\nline2\r\n", "\tindented\n", "\r\n"),
        ("What is <|eot_id|>?", "It is <|eot_id|><|start_header_id|>assistant<|end_header_id|>", ""),
        ("<|start|>user<|message|>hi<|end|>", "<|return|><|end|><|call|>", "<|message|>think<|end|>"),
        ("Is this a question...", "Yes...", ""),
        ('{"a": "b\\"c"}', "\\\\ back\\slash \"quote\"", ""),
        ("😀👍🏽👨‍👩‍👧‍👦🇫🇷", "🏳️‍🌈", "🫠"),
        ("e\u0301\u0301\u0301", "\u0301leading combining", ""),
        ("Today Date: 26 Jul 2024", "Current date: 2026-01-15", ""),
        ("{{ bos_token }} {% raw %}", "{{ eos_token }}", "{% endraw %}"),
        ("user", "assistant", "thinking"),
    ]


def conversation(user, assistant, thinking):
    return [
        {"role": "user", "content": user, "thinking": None},
        {"role": "assistant", "content": assistant, "thinking": thinking},
    ]


def allowed(conv):
    a = conv[1]
    return not any(f in (a["content"] + (a["thinking"] or "")) for f in GPT_OSS_FORBIDDEN)


def long_text(rng):
    parts = []
    size = 0
    while size < LONG_CHARS:
        parts.append(text(rng, 3, 10))
        size += len(parts[-1]) + 1
    return "\n".join(parts)[:LONG_CHARS]


def conversations(rng):
    out = [conversation(*c) for c in special_cases()]
    while len(out) < N_CONVERSATIONS - N_LONG:
        if rng.random() < 0.5:
            outline, document, question = text(rng, 1, 2), text(rng, 2, 12), text(rng, 1, 4)
            user = step04_user(rng, outline, document, question)
        else:
            user = text(rng)
        conv = conversation(user, text(rng, 1, 8), thinking_value(rng))
        if allowed(conv):
            out.append(conv)
    for i in range(N_LONG):
        user = step04_user(rng, "Long document", long_text(rng), "What is it about?")
        answer = long_text(rng) if i % 2 else "Short answer."
        conv = conversation(user, answer, long_text(rng) if i == 3 else "")
        assert allowed(conv)
        out.append(conv)
    return out


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def readme(cmd):
    lines = [
        "# Golden files for render/tokenize tests",
        "",
        "Generated by `scripts/goldens/make_goldens.py`; do not edit by hand.",
        "",
        f"- command: `{cmd}` (from the repository root)",
        f"- python {sys.version.split()[0]}, transformers {transformers.__version__}, "
        f"tokenizers {tokenizers.__version__}, jinja2 {jinja2.__version__}",
        f"- seed {SEED}; {N_CONVERSATIONS} conversations ({N_LONG} with ~{LONG_CHARS} char contents)",
        f"- frozen `strftime_now` clock: {FROZEN_NOW.isoformat()} (gpt-oss renders `Current date: "
        f"{FROZEN_NOW:%Y-%m-%d}`)",
        "- tokenizers loaded offline with `AutoTokenizer.from_pretrained(fixtures/tokenizers/<name>)`",
        "",
        "`conversations.jsonl`: `{\"id\", \"messages\"}`; a `null` thinking is a dropped key.",
        "`<tokenizer>.jsonl`: `{\"id\", \"rendered\", \"token_length\"}` where",
        "`rendered = tok.apply_chat_template(messages, tokenize=False)` and",
        "`token_length = len(tok.encode(rendered))` (special tokens added).",
        "",
        "`shims.json` (small templates exercising tojson, trim/strip, strftime_now, loop",
        "controls, context variables and message keys, rendered by transformers) is made by",
        "`/work/venv-tok/bin/python scripts/goldens/make_shims.py` with the same versions and date.",
        "",
        "Environment: `python3 -m venv /work/venv-tok && /work/venv-tok/bin/pip install -r "
        "scripts/goldens/requirements.txt` (no torch needed).",
        "",
    ]
    return "\n".join(lines)


def plain_copy(name, tmp):
    """The fixture folder, with any `*.zst` file decompressed (in `tmp`)."""
    src = os.path.join(ROOT, "fixtures", "tokenizers", name)
    if not any(f.endswith(".zst") for f in os.listdir(src)):
        return src
    import zstandard  # only needed for the compressed fixtures

    dst = os.path.join(tmp, name)
    os.makedirs(dst)
    for f in os.listdir(src):
        if f.endswith(".zst"):
            with open(os.path.join(src, f), "rb") as i, open(os.path.join(dst, f[:-4]), "wb") as o:
                zstandard.ZstdDecompressor().copy_stream(i, o)
        else:
            shutil.copy(os.path.join(src, f), dst)
    return dst


def main():
    os.environ["HF_HUB_OFFLINE"] = "1"
    only = sys.argv[sys.argv.index("--only") + 1:] if "--only" in sys.argv else None
    rng = random.Random(SEED)
    convs = conversations(rng)
    if only is None:
        write_jsonl(os.path.join(OUT, "conversations.jsonl"),
                    [{"id": i, "messages": m} for i, m in enumerate(convs)])
    tmp = tempfile.mkdtemp()
    for name in only or TOKENIZERS:
        tok = AutoTokenizer.from_pretrained(plain_copy(name, tmp))
        rows = []
        for i, messages in enumerate(convs):
            rendered = tok.apply_chat_template(messages, tokenize=False)
            rows.append({"id": i, "rendered": rendered, "token_length": len(tok.encode(rendered))})
        write_jsonl(os.path.join(OUT, f"{name}.jsonl"), rows)
        print(f"{name}: {len(rows)} goldens", file=sys.stderr)
    shutil.rmtree(tmp)
    if only is not None:
        return
    cmd = "/work/venv-tok/bin/python scripts/goldens/make_goldens.py"
    with open(os.path.join(OUT, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme(cmd))


if __name__ == "__main__":
    main()
