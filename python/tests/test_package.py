"""The Python API: knowmix.mix, run, binary and KnowmixError."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

import knowmix
from conftest import STEP_03, cli, cli_mix, cut_entries, cut_files


def test_mix_returns_the_manifest_and_writes_the_cli_bytes(tmp_path: Path, reference: Path) -> None:
    manifest = knowmix.mix(STEP_03, tmp_path / "out")
    assert [c["cut_size"] for c in manifest["cuts"]] == [5]
    assert [c["cut_size"] for c in manifest["infeasible_cuts"]] == [50]
    written = tmp_path / "out" / "training_mix"
    assert cut_files(written) == cut_files(reference)
    lines = (written / "combined_cut_5x.jsonl").read_bytes().count(b"\n")
    assert manifest["cuts"][0]["samples"] == lines > 0
    assert manifest == json.loads((written / "manifest.json").read_text())


def test_options_become_the_same_flags_a_shell_user_types(tmp_path: Path) -> None:
    manifest = knowmix.mix(str(STEP_03), str(tmp_path / "py"), cut_sizes=[3, 5], qa_per_doc=2,
                           seed=7, gpt_oss=True, threads=1, on_error="skip", quiet=True)
    shell = cli_mix(tmp_path / "sh", "--cut-sizes", "3,5", "--qa-per-doc", "2", "--seed", "7",
                    "--gpt-oss", "--threads", "1", "--on-error", "skip")
    assert cut_files(tmp_path / "py" / "training_mix") == cut_files(shell)
    assert manifest["parameters"]["cut_sizes"] == [3, 5]
    assert manifest["parameters"]["seed"] == 7
    assert manifest["parameters"]["qa_per_doc"] == 2
    assert manifest["parameters"]["gpt_oss"] is True


def test_none_leaves_the_choice_to_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUT_SIZES", "3")
    monkeypatch.setenv("SAVE_GPT_OSS_FORMAT", "true")
    manifest = knowmix.mix(STEP_03, tmp_path / "env", quiet=True)
    assert manifest["parameters"]["cut_sizes"] == [3]
    assert manifest["parameters"]["gpt_oss"] is True
    # An explicit value beats the environment, False included.
    manifest = knowmix.mix(STEP_03, tmp_path / "flag", cut_sizes="5", gpt_oss=False, quiet=True)
    assert manifest["parameters"]["cut_sizes"] == [5]
    assert manifest["parameters"]["gpt_oss"] is False


def test_keyword_options_map_to_flags(tmp_path: Path) -> None:
    knowmix.mix(STEP_03, tmp_path, compress="zstd", force=True, quiet=True)
    assert [p.name for p in (tmp_path / "training_mix").glob("combined_cut_*")] == [
        "combined_cut_5x.jsonl.zst"
    ]
    assert knowmix.option_args(columns={"document": "summarized_document"}, force=False,
                               spill_dir=Path("/s")) == [
        "--column=document=summarized_document", "--spill-dir=/s"]


def test_a_failed_run_raises_the_cli_message(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_step_03"
    shell = cli("mix", "--input", str(missing), "--output", str(tmp_path / "o"))
    assert shell.returncode == 1
    expected = shell.stderr.strip().splitlines()[-1].removeprefix("knowmix: error: ")
    with pytest.raises(knowmix.KnowmixError) as caught:
        knowmix.mix(missing, tmp_path / "o")
    assert caught.value.message == expected == str(caught.value)
    assert caught.value.returncode == 1
    assert "knowmix: error: " + expected in caught.value.stderr


def test_a_bad_column_mapping_raises(tmp_path: Path) -> None:
    with pytest.raises(knowmix.KnowmixError) as caught:
        knowmix.mix(STEP_03, tmp_path, columns={"document": "no_such_column"}, quiet=True)
    assert caught.value.returncode == 1
    assert "no_such_column" in caught.value.message


def test_a_missing_manifest_raises(tmp_path: Path) -> None:
    with pytest.raises(knowmix.KnowmixError, match="manifest.json"):
        knowmix.read_manifest(tmp_path)


def test_usage_errors_have_exit_code_2(tmp_path: Path) -> None:
    with pytest.raises(knowmix.KnowmixError) as caught:
        knowmix.mix(STEP_03, tmp_path, qa_per_doc="many")
    assert caught.value.returncode == 2
    assert "many" in caught.value.message
    with pytest.raises(knowmix.KnowmixError) as caught:
        knowmix.run(["mix", "--no-such-flag"])
    assert caught.value.returncode == 2
    assert "--no-such-flag" in caught.value.message


def test_run_returns_the_finished_process() -> None:
    done = knowmix.run(["--version"])
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 0
    assert done.stdout.strip() == f"knowmix {knowmix.__version__}"
    failed = knowmix.run(["stats", "/no/such/file.jsonl"], check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("knowmix: error: ")


def test_the_binary_is_the_one_installed_with_the_wheel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    installed = knowmix.binary()
    assert installed.parent == Path(sysconfig.get_path("scripts"))
    other = tmp_path / "knowmix"
    other.symlink_to(installed)
    monkeypatch.setenv("KNOWMIX_BINARY", str(other))
    assert knowmix.binary() == other
    monkeypatch.setenv("KNOWMIX_BINARY", str(tmp_path / "missing"))
    with pytest.raises(knowmix.KnowmixError, match="KNOWMIX_BINARY"):
        knowmix.binary()


def test_python_dash_m_runs_the_binary() -> None:
    done = subprocess.run([sys.executable, "-m", "knowmix", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("knowmix ")


def test_errors_survive_pickling() -> None:
    error = knowmix.KnowmixError("bad input", 1, "knowmix: error: bad input\n", ["mix"])
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.returncode, copy.stderr, copy.argv) == ("bad input", 1, error.stderr, ["mix"])


def test_import_pulls_in_nothing_outside_the_standard_library() -> None:
    code = "import sys, knowmix; print(sorted(m for m in ('ray', 'kfp', 'boto3', 'yaml') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_relative_paths_are_relative_to_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(STEP_03.parent.parent)
    manifest = knowmix.mix(os.path.join("fixtures", "step_03"), tmp_path / "rel", quiet=True)
    assert [c["cut_size"] for c in manifest["cuts"]] == [5]


def test_the_manifest_of_an_s3_output_is_read_with_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}",
                            "AWS_ALLOW_HTTP": "true"}.items():
            monkeypatch.setenv(name, value)
        s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}")
        s3.create_bucket(Bucket="mixes")
        body = json.dumps({"cuts": [{"cut_size": 5, "file": "combined_cut_5x.jsonl"}]})
        s3.put_object(Bucket="mixes", Key="run/step_04/training_mix/manifest.json", Body=body.encode())
        assert knowmix.read_manifest("s3://mixes/run/step_04/")["cuts"][0]["cut_size"] == 5
        with pytest.raises(knowmix.KnowmixError, match="s3://mixes/elsewhere/training_mix/manifest.json"):
            knowmix.read_manifest("s3://mixes/elsewhere")
    finally:
        server.stop()


def test_the_single_step_publishes_cuts_and_refuses_an_empty_mix(tmp_path: Path, reference: Path) -> None:
    from knowmix import _steps

    chosen = _steps.mix_into(str(STEP_03), str(tmp_path / "cuts"), str(tmp_path / "ds" / "train.jsonl"),
                             cut_sizes="3,5", quiet=True)
    assert chosen == str(tmp_path / "cuts" / "combined_cut_5x.jsonl")
    assert sorted(p.name for p in (tmp_path / "cuts").iterdir()) == [
        "combined_cut_3x.jsonl", "combined_cut_5x.jsonl", "manifest.json"]
    assert (tmp_path / "ds" / "train.jsonl").read_bytes() == (reference / "combined_cut_5x.jsonl").read_bytes()
    with pytest.raises(knowmix.KnowmixError, match="cut 50"):
        _steps.mix_into(str(STEP_03), str(tmp_path / "none"), str(tmp_path / "none.jsonl"),
                        cut_sizes="50", quiet=True)
    assert _steps.tokenizer_source(_steps.DEFAULT_TOKENIZER) == _steps.DEFAULT_TOKENIZER
    assert _steps.tokenizer_source(str(tmp_path)) == str(tmp_path)


def test_die_with_parent_stops_knowmix_when_python_is_killed(tmp_path: Path) -> None:
    # A Ray worker on a lost node dies with SIGKILL; its knowmix must not
    # live on and keep writing while the shard reruns elsewhere.
    pidfile = tmp_path / "child.pid"
    slow = tmp_path / "slow.sh"
    slow.write_text(f"#!/bin/sh\necho $$ > {pidfile}\nexec sleep 60\n")
    slow.chmod(0o755)
    code = "import knowmix; knowmix.run(['mix'], die_with_parent=True)"
    env = {**os.environ, "KNOWMIX_BINARY": str(slow)}
    parent = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline, "knowmix never started"
        time.sleep(0.05)
    child = int(pidfile.read_text())
    parent.kill()
    parent.wait()
    while _alive(child):
        assert time.monotonic() < deadline, "knowmix outlived the Python that ran it"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie waiting for init to reap it is gone
