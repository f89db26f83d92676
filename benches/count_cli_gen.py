import json, random, sys
WORDS = """the of and to in is that for it as was with be by on not he this are or his from at which but have an had they you were their one all we can her has there been if more when will would who so no model training data knowledge document question answer summary example system language research important however therefore between through during without although especially photosynthesis mitochondria constitutional infrastructure approximately Paris Einstein Python JSON API doesn't it's we're they've I'm you'll""".split()
def sentence(r):
    n=r.randint(6,23); ws=[r.choice(WORDS) for _ in range(n)]; ws[0]=ws[0][0].upper()+ws[0][1:]
    s=" ".join(ws)
    if r.random()<0.1: s+=f" {r.randint(1,3000)}"
    return s+("?" if r.random()<0.1 else ".")
def paras(r,k): return "\n\n".join(" ".join(sentence(r) for _ in range(r.randint(2,6))) for _ in range(k))
M={"llama-3.1-instruct":"<|start_header_id|>user<|end_header_id|>\n\n{d}\n\n{q}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{a}<|eot_id|>",
"gpt-oss":"<|start|>user<|message|>{d}\n\n{q}<|end|><|start|>assistant<|channel|>final<|message|>{a}<|return|>",
"qwen3":"<|im_start|>user\n{d}\n\n{q}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n{a}<|im_end|>\n",
"cl100k":"<|im_start|>user\n{d}\n\n{q}<|im_end|>\n<|im_start|>assistant\n{a}<|im_end|>\n",
"deepseek-v3":"<｜begin▁of▁sentence｜><｜User｜>{d}\n\n{q}<｜Assistant｜>{a}<｜end▁of▁sentence｜>",
"llama2":"<s>[INST] {d}\n\n{q} [/INST] {a} </s>",
"gemma3":"<bos><start_of_turn>user\n{d}\n\n{q}<end_of_turn>\n<start_of_turn>model\n{a}<end_of_turn>\n"}
for fam,m in M.items():
    r=random.Random(4); n=0
    with open(f"{fam}.jsonl","w") as f:
        while n < 3<<20:
            t=m.format(d=paras(r,3),q=paras(r,1),a=paras(r,2)); n+=len(t.encode())
            f.write(json.dumps({"text":t},ensure_ascii=False)+"\n")
