#!/usr/bin/env python3
"""Ground truth for the minijinja shims (tojson, trim/strip, strftime_now,
loop controls, context variables, message keys): renders small templates with
transformers 5's apply_chat_template and writes fixtures/goldens/shims.json.
The clock is frozen at 2026-01-15 12:00:00. Run from the repository root:

    /work/venv-tok/bin/python scripts/goldens/make_shims.py
"""
import json, datetime as _dt
from transformers import AutoTokenizer
from transformers.utils import chat_template_utils
class F(_dt.datetime):
    @classmethod
    def now(cls, tz=None): return _dt.datetime(2026,1,15,12,0,0)
chat_template_utils.datetime = F
tok = AutoTokenizer.from_pretrained("fixtures/tokenizers/llama-3.1-instruct")
msgs = [{"role":"user","content":"\x1c\x1f \u3000 a b \x85\u200b","thinking":None},
        {"role":"assistant","content":"é<>&'\"\\\n\x00\x7f😀","thinking":""}]
T = {
 "dict": '{{ {"a": [1, 2.5, none, true, false], "b": "é<>&\'", "c": {}, "d": [], "z": 0} | tojson }}',
 "indent": '{{ {"a": [1, {"x": [2, []]}], "b": {}} | tojson(indent=4) }}',
 "indent_sorted": '{{ {"b": 1, "a": {"d": 2, "c": 3}} | tojson(indent=2, sort_keys=true) }}',
 "ascii": '{{ "é😀\x7f<" | tojson(ensure_ascii=true) }}',
 "ascii_positional": '{{ {"k": "é"} | tojson(true) }}',
 "separators": '{{ {"a": [1, 2]} | tojson(separators=(",", ":")) }}',
 "indent_str": '{{ [1, 2] | tojson(indent="\t") }}',
 "numbers": '{{ 1e16 | tojson }} {{ 0.1 | tojson }} {{ 3 | tojson }} {{ -0.0 | tojson }} {{ 1.5e-7 | tojson }} {{ 100.0 | tojson }}',
 "messages": '{{ messages | tojson }}',
 "messages_indent": '{{ messages | tojson(indent=1) }}',
 "trim": '[{{ messages[0].content | trim }}][{{ messages[0].content.strip() }}][{{ messages[0].content.lstrip() }}][{{ messages[0].content.rstrip() }}][{{ "xxaxx" | trim("x") }}][{{ messages[0].content.isspace() }}][{{ "\x1c \u3000".isspace() }}][{{ "".isspace() }}]',
 "trim_non_string": '[{{ none | trim }}][{{ true | trim }}][{{ 1.0 | trim }}][{{ 3 | trim }}]',
 "strftime": '{{ strftime_now("%Y-%m-%d|%d %b %Y|%H:%M:%S|%A %B %j") }}',
 "loop_controls": '{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{{ m.role }}{% break %}{% endfor %}',
 "context": '{{ bos_token }}|{{ eos_token }}|{{ add_generation_prompt }}|{{ tools is none }}|{{ tools is defined }}|{{ documents is none }}|{{ none }}|{{ 2.0 }}|{{ custom is defined }}',
 "keys": '{% for m in messages %}{{ "thinking" in m }}/{{ "reasoning_content" in m }}/{% for k in m %}{{ k }},{% endfor %};{% endfor %}',
 "items": '{% for k, v in messages[1].items() %}{{ k }}={{ v | length }};{% endfor %}',
 "blocks": '  {% if true %}\n  yes\n  {% endif %}\n{%- for i in [1,2] %}\n{{ i }}\n{% endfor %}\nend\n',
}
out = {k: tok.apply_chat_template(msgs, tokenize=False, chat_template=v) for k, v in T.items()}
try:
    tok.apply_chat_template(msgs, tokenize=False, chat_template='{{ raise_exception("boom: " + messages[0].role) }}')
except Exception as e:
    out["raise"] = f"{type(e).__name__}: {e}"
import transformers
doc = {"transformers": transformers.__version__, "messages": msgs, "templates": T, "rendered": out}
with open("fixtures/goldens/shims.json", "w", encoding="utf-8") as f:
    f.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
