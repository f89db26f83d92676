"""Peak RSS and wall time of knowmix on local files and on the same bytes in
a local moto server (BENCHMARKS.md, "Object storage").

Usage (a venv with moto[server], boto3):
    python scripts/s3_measure.py RECORDS.jsonl        # stats / sample, file vs object
    python scripts/s3_measure.py shards SIZE [N]      # shard stages, --work local vs s3://

`shards` makes a `knowmix synth --target-bytes SIZE` corpus, runs plan, index
0..N-1, emit 0..N-1 and merge one after another with the work folder on the
local disk, then on the bucket (input and output local both times), checks
the cuts are byte-identical, and prints per stage wall time, peak RSS and the
peak size of the local scratch folder (`--spill-dir`, sampled every 50 ms).
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python/tests"))
import s3_server as S  # noqa: E402

BINARY = os.environ.get("KNOWMIX_BINARY", "target/release/knowmix")
LLAMA = pathlib.Path(__file__).resolve().parents[1] / "fixtures/tokenizers/llama-3.1-instruct"


def start_moto():
    factory = type("F", (), {"mktemp": staticmethod(lambda n: pathlib.Path(tempfile.mkdtemp()))})
    gen = S.s3_server.__wrapped__(factory())
    return gen, next(gen)


def run(args, env=None, watch=None):
    """Run knowmix; (wall s, peak RSS MB, peak bytes under `watch`)."""
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            size = 0
            for root, _, files in os.walk(watch):
                for f in files:
                    try:
                        size += os.lstat(os.path.join(root, f)).st_size
                    except OSError:
                        pass
            peak[0] = max(peak[0], size)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample) if watch else None
    if sampler:
        sampler.start()
    t = time.monotonic()
    d = subprocess.run(["/usr/bin/time", "-f", "%M", BINARY, *map(str, args)], env=env,
                       capture_output=True)
    wall = time.monotonic() - t
    done.set()
    if sampler:
        sampler.join()
    if d.returncode != 0:
        sys.exit(f"knowmix {args} failed: {d.stderr.decode()}")
    rss = int(d.stderr.decode().strip().splitlines()[-1]) / 1024
    return wall, rss, peak[0]


def files_and_objects(records):
    gen, s3 = start_moto()
    b = BINARY
    rec = pathlib.Path(records).read_bytes()
    body = rec * (200_000_000 // len(rec) + 1)
    local = pathlib.Path(tempfile.gettempdir()) / "knowmix-s3-measure.jsonl"
    local.write_bytes(body)
    s3.client().upload_file(str(local), s3.bucket, "m/in.jsonl")
    print("input bytes", len(body))

    def show(args, env=None):
        wall, rss, _ = run(args, env)
        print(" ".join(args[:3]), round(wall, 2), "s", round(rss, 1), "MB maxrss", b)

    show(["stats", "--json", str(local)])
    show(["stats", "--json", s3.url("m/in.jsonl")], s3.env())
    show(["sample", "-n", "1000", str(local), "-o", "/dev/null"])
    show(["sample", "-n", "1000", s3.url("m/in.jsonl"), "-o", s3.url("m/sample.jsonl")], s3.env())
    show(["sample", "--ratio", "0.9", s3.url("m/in.jsonl"), "-o", s3.url("m/ratio.jsonl")],
         s3.env())
    print("ratio output bytes",
          s3.client().head_object(Bucket=s3.bucket, Key="m/ratio.jsonl")["ContentLength"])
    local.unlink()
    next(gen, None)


def shards(size, n):
    gen, s3 = start_moto()
    top = pathlib.Path(tempfile.mkdtemp(prefix="knowmix-s3-shards-"))
    corpus = top / "step_03"
    subprocess.run([BINARY, "synth", "--target-bytes", size, "--output", corpus, "--quiet"],
                   check=True)
    total = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    print(f"corpus {total / 1e6:.1f} MB, {n} shards, stages one after another")
    outputs = {}
    for where in ("local", "s3"):
        spill = top / f"spill-{where}"
        spill.mkdir()
        work = top / "work" if where == "local" else s3.url("measure/work")
        out = top / f"out-{where}"
        env = s3.env()
        common = ["--spill-dir", spill, "--quiet"]
        steps = [("plan", ["shard", "plan", "--input", corpus, "--work", work, "--shards", n,
                           "--tokenizer", LLAMA, "--cut-sizes", "1,3,5", *common])]
        steps += [(f"index {i}", ["shard", "index", "--work", work, "--shard", i, *common])
                  for i in range(n)]
        steps += [(f"emit {i}", ["shard", "emit", "--work", work, "--shard", i, *common])
                  for i in range(n)]
        steps.append(("merge", ["shard", "merge", "--work", work, "--output", out, *common]))
        print(f"--work {'local folder' if where == 'local' else 's3://…'}")
        walls = []
        for name, args in steps:
            wall, rss, scratch = run(args, env, watch=spill)
            walls.append(wall)
            print(f"  {name:8} {wall:7.2f} s  {rss:6.1f} MB RSS  "
                  f"{scratch / 1e6:7.1f} MB peak in --spill-dir")
        print(f"  total    {sum(walls):7.2f} s")
        outputs[where] = {p.name: p.read_bytes() for p in (out / "training_mix").glob("*.jsonl")}
        print(f"  cuts written: {sum(map(len, outputs[where].values())) / 1e6:.1f} MB")
        if where == "local":
            w = top / "work"
            print(f"  work folder: {sum(p.stat().st_size for p in w.rglob('*') if p.is_file()) / 1e6:.1f} MB")
    assert outputs["local"] == outputs["s3"] and outputs["local"], "cuts differ"
    print("cuts byte-identical")
    subprocess.run(["rm", "-rf", str(top)], check=True)
    next(gen, None)


if __name__ == "__main__":
    if sys.argv[1] == "shards":
        shards(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    else:
        files_and_objects(sys.argv[1])
