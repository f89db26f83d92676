# Generate ~2 GB of chat JSONL in three sources for the recipe benchmark.
import json, random, sys
random.seed(1)
words = "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more".split()
def text(n):
    return " ".join(random.choice(words) for _ in range(n))
pool = [text(150) for _ in range(500)]
for name, mb in [("a", 800), ("b", 600), ("c", 600)]:
    target = mb * 1_000_000
    size = 0
    i = 0
    with open(f"/tmp/recipe-bench/{name}.jsonl", "w") as f:
        while size < target:
            q = pool[i % 500][: 100 + i % 200]
            a = pool[(i * 7 + 3) % 500]
            line = json.dumps({"id": f"{name}-{i}", "messages": [{"role": "user", "content": f"{q} #{i}"}, {"role": "assistant", "content": f"{a} ({i})"}], "token_length": 150 + i % 300}) + "\n"
            f.write(line)
            size += len(line)
            i += 1
    print(name, i, size)
