"""knowmix on S3-compatible object storage, against a real server (moto).

Every command is run twice, once on local files and once on the same bytes
in a bucket, and the outputs must be byte-identical. The failure cases check
what a user sees: one stderr line naming the URL and what to do, exit 1,
and no object (nor an unfinished upload) left behind.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import time
from pathlib import Path

import pytest

from s3_server import REPO, knowmix_binary, s3_server  # noqa: F401 (fixture)

FIXTURES = REPO / "fixtures"
STEP03 = FIXTURES / "step_03"
LLAMA = FIXTURES / "tokenizers" / "llama-3.1-instruct"


def knowmix(*args, env=None, input=None, check=True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [knowmix_binary(), *map(str, args)],
        env=env,
        input=input,
        capture_output=True,
        timeout=300,
    )
    if check and done.returncode != 0:
        pytest.fail(f"knowmix {args} exited {done.returncode}: {done.stderr.decode()}")
    return done


def cut_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "training_mix").glob("*.jsonl"))}


@pytest.fixture(scope="session")
def local_mix(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local-mix")
    knowmix("mix", "--input", STEP03, "--output", out, "--tokenizer", LLAMA, "--quiet")
    assert cut_files(out), "the local mix wrote no cut"
    return out


@pytest.fixture(scope="session")
def step03_url(s3_server) -> str:  # noqa: F811
    return s3_server.upload_tree(STEP03, "in/step_03")


@pytest.fixture(scope="session")
def records(local_mix) -> Path:
    """Finished records (a cut of the local mix) for the pipe commands."""
    return local_mix / "training_mix" / "combined_cut_5x.jsonl"


def test_mix_from_and_to_s3_is_byte_identical(s3_server, step03_url, local_mix):  # noqa: F811
    env = s3_server.env()
    knowmix(
        "mix", "--input", step03_url, "--output", s3_server.url("out/mix"),
        "--tokenizer", LLAMA, "--quiet", env=env,
    )
    expected = cut_files(local_mix)
    keys = s3_server.keys("out/mix/training_mix/")
    got = {k.rsplit("/", 1)[1]: s3_server.get(k) for k in keys if k.endswith(".jsonl")}
    assert got == expected
    assert "out/mix/training_mix/manifest.json" in keys


def test_mix_from_s3_to_local(s3_server, step03_url, local_mix, tmp_path):  # noqa: F811
    knowmix(
        "mix", "--input", step03_url, "--output", tmp_path, "--tokenizer", LLAMA,
        "--quiet", env=s3_server.env(),
    )
    assert cut_files(tmp_path) == cut_files(local_mix)


def test_shard_stages_from_and_to_s3_match_mix(s3_server, step03_url, local_mix, tmp_path):  # noqa: F811
    # Inputs and output on the bucket, the work folder W on a local (shared)
    # file system; 3 shards, run in reverse order.
    env, work = s3_server.env(), tmp_path / "work"
    knowmix("shard", "plan", "--input", step03_url, "--work", work, "--shards", "3",
            "--tokenizer", LLAMA, "--quiet", env=env)
    for stage in ("index", "emit"):
        for shard in (2, 1, 0):
            knowmix("shard", stage, "--work", work, "--shard", shard, "--quiet", env=env)
    knowmix("shard", "merge", "--work", work, "--output", s3_server.url("out/shard"),
            "--quiet", env=env)
    keys = s3_server.keys("out/shard/training_mix/")
    got = {k.rsplit("/", 1)[1]: s3_server.get(k) for k in keys if k.endswith(".jsonl")}
    assert got == cut_files(local_mix)


def test_tokens_reads_and_writes_objects(s3_server, records, tmp_path):  # noqa: F811
    local = tmp_path / "tokens.jsonl"
    knowmix("tokens", records, "-o", local, "--tokenizer", LLAMA)
    # A gzip object is decompressed by its magic bytes, whatever its name.
    source = s3_server.put("pipe/records.jsonl", gzip.compress(records.read_bytes()))
    knowmix(
        "tokens", source, "-o", s3_server.url("pipe/tokens.jsonl.gz"),
        "--tokenizer", LLAMA, env=s3_server.env(),
    )
    assert gzip.decompress(s3_server.get("pipe/tokens.jsonl.gz")) == local.read_bytes()


def test_sample_streams_an_object_like_a_file(s3_server, records):  # noqa: F811
    source = s3_server.put("pipe/sample-in.jsonl", records.read_bytes())
    local = knowmix("sample", "-n", "7", "--seed", "3", records).stdout
    remote = knowmix("sample", "-n", "7", "--seed", "3", source, env=s3_server.env()).stdout
    assert remote == local and local.count(b"\n") == 7
    ratio = knowmix("sample", "--ratio", "0.5", records).stdout
    assert knowmix("sample", "--ratio", "0.5", source, env=s3_server.env()).stdout == ratio


def test_stats_on_an_object_and_on_a_prefix(s3_server, records, step03_url):  # noqa: F811
    source = s3_server.put("pipe/stats-in.jsonl", records.read_bytes())
    local = json.loads(knowmix("stats", "--json", records).stdout)
    remote = json.loads(knowmix("stats", "--json", source, env=s3_server.env()).stdout)
    assert remote == local
    local = json.loads(knowmix("stats", "--json", STEP03).stdout)
    remote = json.loads(knowmix("stats", "--json", step03_url, env=s3_server.env()).stdout)
    assert (local.pop("step03"), remote.pop("step03")) == (str(STEP03), step03_url)
    assert remote == local and local["datasets"]


def test_recipe_on_objects_with_a_glob(s3_server, records, tmp_path):  # noqa: F811
    lines = records.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    parts = {"a-0.jsonl": b"".join(lines[:half]), "a-1.jsonl": b"".join(lines[half:])}
    recipe = b"datasets:\n  - path: parts/a-*.jsonl\n    sampling_size: 0.5\n  - path: one.jsonl\n    sampling_size: 3\n"
    for name, body in parts.items():
        (tmp_path / "parts").mkdir(exist_ok=True)
        (tmp_path / "parts" / name).write_bytes(body)
        s3_server.put(f"recipe/parts/{name}", body)
    (tmp_path / "one.jsonl").write_bytes(records.read_bytes())
    s3_server.put("recipe/one.jsonl", records.read_bytes())
    (tmp_path / "r.yaml").write_bytes(recipe)
    s3_server.put("recipe/r.yaml", recipe)
    knowmix("recipe", tmp_path / "r.yaml", "-o", tmp_path / "mix.jsonl", "--quiet")
    knowmix(
        "recipe", s3_server.url("recipe/r.yaml"), "-o", s3_server.url("recipe/out/mix.jsonl"),
        "--quiet", env=s3_server.env(),
    )
    assert s3_server.get("recipe/out/mix.jsonl") == (tmp_path / "mix.jsonl").read_bytes()
    assert "recipe/out/mix.jsonl.manifest.json" in s3_server.keys("recipe/out/")


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stderr.decode()
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_wrong_key_is_one_clear_line(s3_server, records):  # noqa: F811
    source = s3_server.put("errors/in.jsonl", records.read_bytes())
    env = s3_server.env(AWS_SECRET_ACCESS_KEY="not-the-secret")
    line = one_error_line(knowmix("stats", source, env=env, check=False))
    assert source in line and "access denied" in line and "AWS_SECRET_ACCESS_KEY" in line


def test_missing_bucket_is_one_clear_line(s3_server, tmp_path):  # noqa: F811
    url = "s3://no-such-bucket-here/in/step_03"
    done = knowmix("mix", "--input", url, "--output", tmp_path, "--quiet",
                   "--tokenizer", LLAMA, env=s3_server.env(), check=False)
    line = one_error_line(done)
    assert "no-such-bucket-here" in line and "does not exist" in line


def test_unreachable_endpoint_fails_fast(s3_server):  # noqa: F811
    from s3_server import free_port  # noqa: PLC0415

    env = s3_server.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    done = knowmix("stats", s3_server.url("errors/in.jsonl"), env=env, check=False)
    took = time.monotonic() - started
    line = one_error_line(done)
    assert "cannot reach the object store" in line and "AWS_ENDPOINT_URL" in line
    assert took < 15, f"took {took:.1f} s"


def test_failed_run_leaves_no_object(s3_server, records):  # noqa: F811
    # Over a part's worth of good records (the upload is started and parts
    # are sent), then a broken line: the run fails and must leave nothing.
    good = records.read_bytes()
    body = good * (20_000_000 // len(good) + 1) + b'{"messages": [broken\n'
    source = s3_server.put("fail/in.jsonl", body)
    target = s3_server.url("fail/out/tokens.jsonl")
    done = knowmix("tokens", source, "-o", target, "--tokenizer", LLAMA,
                   env=s3_server.env(), check=False)
    line = one_error_line(done)
    assert "fail/in.jsonl" in line
    assert s3_server.keys("fail/out/") == []
    assert s3_server.open_uploads() == []


def test_interrupted_run_leaves_no_object(s3_server, records):  # noqa: F811
    # SIGTERM once the output's upload is open: the run stops with 130, the
    # upload is aborted and no object appears.
    good = records.read_bytes()
    source = s3_server.put("term/in.jsonl", good * (80_000_000 // len(good) + 1))
    target = s3_server.url("term/out/tokens.jsonl")
    run = subprocess.Popen(
        [knowmix_binary(), "tokens", source, "-o", target, "--tokenizer", str(LLAMA)],
        env=s3_server.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while "term/out/tokens.jsonl" not in s3_server.open_uploads():
        assert run.poll() is None, "finished before it could be interrupted"
        assert time.monotonic() < deadline, "no upload was started"
        time.sleep(0.05)
    run.terminate()
    assert run.wait(timeout=30) == 130, run.stderr.read().decode()
    assert s3_server.keys("term/out/") == []
    assert s3_server.open_uploads() == []


# --- The work folder W itself in the bucket (`--work s3://...`) ---------------


def run_stages(s3, input_, work, output, shards, spill, env, order=None):
    """plan, then index and emit of every shard (in `order`), then merge."""
    knowmix("shard", "plan", "--input", input_, "--work", work, "--shards", shards,
            "--tokenizer", LLAMA, "--spill-dir", spill, "--quiet", env=env)
    order = order or list(range(shards))
    for stage in ("index", "emit"):
        for shard in order:
            knowmix("shard", stage, "--work", work, "--shard", shard, "--spill-dir", spill,
                    "--quiet", env=env)
    knowmix("shard", "merge", "--work", work, "--output", output, "--spill-dir", spill,
            "--quiet", env=env)


def s3_cut_files(s3, prefix: str) -> dict[str, bytes]:
    keys = s3.keys(f"{prefix}/training_mix/")
    return {k.rsplit("/", 1)[1]: s3.get(k) for k in keys if k.endswith(".jsonl")}


@pytest.mark.parametrize(
    ("shards", "input_on_s3", "output_on_s3"),
    [(1, False, False), (3, True, False), (3, True, True)],
)
def test_shard_stages_with_work_on_s3_match_mix(
    s3_server, step03_url, local_mix, tmp_path, shards, input_on_s3, output_on_s3,  # noqa: F811
):
    env = s3_server.env()
    name = f"w{shards}{int(input_on_s3)}{int(output_on_s3)}"
    work = s3_server.url(f"{name}/work")
    input_ = step03_url if input_on_s3 else STEP03
    output = s3_server.url(f"{name}/out") if output_on_s3 else tmp_path / "out"
    spill = tmp_path / "spill"
    spill.mkdir()
    run_stages(s3_server, input_, work, output, shards, spill, env,
               order=list(reversed(range(shards))))
    got = s3_cut_files(s3_server, f"{name}/out") if output_on_s3 else cut_files(output)
    assert got == cut_files(local_mix)
    # The stages' files are objects of W; the local scratch copies are gone.
    keys = s3_server.keys(f"{name}/work/")
    assert f"{name}/work/plan.json" in keys
    assert f"{name}/work/tokenizer/tokenizer.json" in keys
    for s in range(shards):
        for stage in ("index", "emit"):
            assert f"{name}/work/{stage}/shard-{s:05}/done.json" in keys
    assert list(spill.iterdir()) == []
    assert s3_server.open_uploads() == []
    # A finished stage run again does nothing: its marker is not rewritten.
    marker = f"{name}/work/index/shard-00000/done.json"
    before = s3_server.client().head_object(Bucket=s3_server.bucket, Key=marker)
    again = knowmix("shard", "index", "--work", work, "--shard", "0", "--spill-dir", spill,
                    env=env)
    assert "already done" in again.stderr.decode()
    after = s3_server.client().head_object(Bucket=s3_server.bucket, Key=marker)
    assert after["LastModified"] == before["LastModified"] and after["ETag"] == before["ETag"]


def test_stage_run_too_early_with_work_on_s3_fails_like_a_local_one(
    s3_server, step03_url, tmp_path,  # noqa: F811
):
    env, work = s3_server.env(), s3_server.url("early/work")
    local = tmp_path / "work"
    for w in (work, local):
        knowmix("shard", "plan", "--input", STEP03, "--work", w, "--shards", "2",
                "--tokenizer", LLAMA, "--quiet", env=env)
    for w in (work, local):
        knowmix("shard", "index", "--work", w, "--shard", "1", "--quiet", env=env)

    def fails(*args):
        return one_error_line(knowmix("shard", *args, env=env, check=False))

    # Emit before index shard 0 is done; merge before any emit shard is.
    for stage, missing in (("emit", "index shard 0 of 2"), ("merge", "emit shard 0 of 2")):
        extra = ("--shard", "1") if stage == "emit" else ("--output", tmp_path / "out")
        remote = fails(stage, "--work", work, *extra)
        assert remote == fails(stage, "--work", local, *extra).replace(str(local), work)
        assert f"{missing} is not done" in remote and work in remote
    assert not (tmp_path / "out").exists()
    # No plan at all.
    line = fails("index", "--work", s3_server.url("early/none"), "--shard", "0")
    assert "no plan.json" in line and s3_server.url("early/none") in line
    # Planned again with other options: shard 1's marker belongs to the old plan.
    knowmix("shard", "plan", "--input", STEP03, "--work", work, "--shards", "2",
            "--tokenizer", LLAMA, "--seed", "7", "--quiet", env=env)
    line = fails("index", "--work", work, "--shard", "1")
    assert "written for another plan" in line
    assert f"{work}/index/shard-00001/done.json" in line
    assert s3_server.keys("early/work/emit/") == []


@pytest.fixture(scope="module")
def synth_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "step_03"
    knowmix("synth", "--output", out, "--raw-docs", "400", "--quiet")
    return out


def test_killed_index_stage_with_work_on_s3_is_rerun_alone(
    s3_server, synth_corpus, tmp_path,  # noqa: F811
):
    env, work = s3_server.env(), s3_server.url("killed/work")
    reference = tmp_path / "ref"
    knowmix("mix", "--input", synth_corpus, "--output", reference, "--tokenizer", LLAMA,
            "--quiet")
    spill = tmp_path / "spill"
    spill.mkdir()
    knowmix("shard", "plan", "--input", synth_corpus, "--work", work, "--shards", "2",
            "--tokenizer", LLAMA, "--quiet", env=env)
    index1 = ["shard", "index", "--work", work, "--shard", "1", "--spill-dir", spill, "--quiet"]
    started = time.monotonic()
    knowmix(*index1, env=env)
    full = time.monotonic() - started
    prefix = "killed/work/index/shard-00001/"
    finished = {k: s3_server.get(k) for k in s3_server.keys(prefix)}
    killed_before_the_marker = 0
    for permille in (150, 400, 650, 800, 900, 950):
        for k in s3_server.keys(prefix):
            s3_server.client().delete_object(Bucket=s3_server.bucket, Key=k)
        child = subprocess.Popen([knowmix_binary(), *map(str, index1)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * permille / 1000)
        child.kill()  # SIGKILL
        child.wait()
        left = {k: s3_server.get(k) for k in s3_server.keys(prefix)}
        # Whatever is visible is whole: byte-identical to a finished run's.
        assert all(left[k] == finished[k] for k in left), sorted(left)
        if f"{prefix}done.json" not in left:
            killed_before_the_marker += 1
        # Rerun alone: the killed run's scratch copy is swept, then done.
        knowmix(*index1, env=env)
        assert {k: s3_server.get(k) for k in s3_server.keys(prefix)} == finished
        assert list(spill.iterdir()) == []
    assert killed_before_the_marker > 0, "every kill came too late"
    knowmix("shard", "index", "--work", work, "--shard", "0", "--quiet", env=env)
    for shard in (0, 1):
        knowmix("shard", "emit", "--work", work, "--shard", shard, "--quiet", env=env)
    out = tmp_path / "out"
    knowmix("shard", "merge", "--work", work, "--output", out, "--quiet", env=env)
    assert cut_files(out) == cut_files(reference)


def test_rows_set_aside_by_stages_with_work_on_s3_are_gathered(s3_server, tmp_path):  # noqa: F811
    # A broken line in a summary dataset (set aside by index) and in a QA
    # dataset (set aside by emit): merge gathers both from the bucket.
    import shutil  # noqa: PLC0415

    corpus = tmp_path / "step_03"
    shutil.copytree(STEP03, corpus)
    for name in ("extractive_summary", "document_based_qa"):
        path = corpus / name / "gen-00000-of-00003.jsonl"
        text = path.read_bytes()
        at = text.index(b"\n", len(text) // 2) + 1
        path.write_bytes(text[:at] + b"{broken\n" + text[at:])
    reference = tmp_path / "ref"
    knowmix("mix", "--input", corpus, "--output", reference, "--tokenizer", LLAMA,
            "--on-error", "skip", "--quiet")
    rejected = (reference / "training_mix" / "rejected.jsonl").read_bytes()
    assert rejected.count(b"\n") == 2, rejected
    env, work, out = s3_server.env(), s3_server.url("skip/work"), tmp_path / "out"
    knowmix("shard", "plan", "--input", corpus, "--work", work, "--shards", "3",
            "--tokenizer", LLAMA, "--on-error", "skip", "--quiet", env=env)
    for stage in ("index", "emit"):
        for shard in range(3):
            knowmix("shard", stage, "--work", work, "--shard", shard, "--quiet", env=env)
    knowmix("shard", "merge", "--work", work, "--output", out, "--quiet", env=env)
    assert cut_files(out) == cut_files(reference)
    assert (out / "training_mix" / "rejected.jsonl").read_bytes() == rejected
