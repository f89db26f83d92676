"""Peak RSS and wall time of a few commands on a local file and on the same
bytes in a local moto server (BENCHMARKS.md, "Object storage").

Usage: python scripts/s3_measure.py RECORDS.jsonl  (a venv with moto[server], boto3)
"""
import sys, subprocess, time, tempfile, pathlib, os
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python/tests"))
import s3_server as S
gen = S.s3_server.__wrapped__(type("F", (), {"mktemp": staticmethod(lambda n: pathlib.Path(tempfile.mkdtemp()))})())
s3 = next(gen)
b = os.environ.get("KNOWMIX_BINARY", "target/release/knowmix")
rec = pathlib.Path(sys.argv[1]).read_bytes()
body = rec * (200_000_000 // len(rec) + 1)
local = pathlib.Path(tempfile.gettempdir()) / "knowmix-s3-measure.jsonl"; local.write_bytes(body)
s3.client().upload_file(str(local), s3.bucket, "m/in.jsonl")
print("input bytes", len(body))
def run(args, env=None):
    t=time.monotonic()
    d=subprocess.run(["/usr/bin/time","-f","%M KB maxrss %U user",b,*args],env=env,capture_output=True)
    print(" ".join(args[:3]), round(time.monotonic()-t,2),"s", d.returncode, d.stderr.decode().strip().splitlines()[-1])
run(["stats", "--json", str(local)])
run(["stats", "--json", s3.url("m/in.jsonl")], s3.env())
run(["sample", "-n", "1000", str(local), "-o", "/dev/null"])
run(["sample", "-n", "1000", s3.url("m/in.jsonl"), "-o", s3.url("m/sample.jsonl")], s3.env())
run(["sample", "--ratio", "0.9", s3.url("m/in.jsonl"), "-o", s3.url("m/ratio.jsonl")], s3.env())
print("ratio output bytes", s3.client().head_object(Bucket=s3.bucket, Key="m/ratio.jsonl")["ContentLength"])
local.unlink()
try: next(gen)
except StopIteration: pass
