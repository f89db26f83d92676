"""knowmix.ray on a real multi-node Ray cluster on this machine: a head node
and worker nodes, each its own raylet (ray.cluster_utils.Cluster)."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

import knowmix  # noqa: E402
import knowmix.ray as kray  # noqa: E402
from conftest import STEP_03, cli, cut_entries, cut_files  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    # The head runs the driver's stages and may run tasks; the worker node
    # (its own raylet and object store) takes most shards.
    nodes = Cluster(initialize_head=True, connect=True,
                    head_node_args={"num_cpus": 1, "object_store_memory": 80 * 2**20})
    nodes.add_node(num_cpus=2, object_store_memory=80 * 2**20)
    nodes.wait_for_nodes()
    yield nodes
    ray.shutdown()
    nodes.shutdown()


def wrapper(path: Path, body: str) -> Path:
    """An executable standing in for knowmix on the workers (set through
    the tasks' runtime_env), running the real binary in the end."""
    path.write_text(f"#!/bin/sh\nreal={knowmix.binary()}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize("shards", [1, 3, 5])
def test_shards_give_the_bytes_of_knowmix_mix(cluster, reference: Path, tmp_path: Path, shards: int) -> None:
    manifest = kray.mix(STEP_03, tmp_path / "out", shards=shards)
    written = tmp_path / "out" / "training_mix"
    assert cut_files(written) == cut_files(reference)
    assert cut_entries(manifest) == cut_entries(knowmix.read_manifest(reference.parent))
    assert not (tmp_path / "out" / ".knowmix-work").exists()
    hosts = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert len(hosts) >= 2


def test_options_reach_every_stage(cluster, tmp_path: Path) -> None:
    manifest = kray.mix(STEP_03, tmp_path / "out", shards=3, cut_sizes="3,5", seed=9, qa_per_doc=2,
                        work=tmp_path / "work", keep_work=True)
    shell = tmp_path / "shell"
    done = cli("mix", "--input", str(STEP_03), "--output", str(shell), "--cut-sizes", "3,5",
               "--seed", "9", "--qa-per-doc", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    assert cut_files(tmp_path / "out" / "training_mix") == cut_files(shell / "training_mix")
    assert manifest["parameters"]["seed"] == 9
    assert (tmp_path / "work").is_dir()


def test_a_bad_input_raises_the_cli_message(cluster, tmp_path: Path) -> None:
    missing = tmp_path / "no_such_step_03"
    shell = cli("shard", "plan", "--input", str(missing), "--work", str(tmp_path / "w0"), "--shards", "2")
    assert shell.returncode == 1
    expected = shell.stderr.strip().splitlines()[-1].removeprefix("knowmix: error: ")
    with pytest.raises(knowmix.KnowmixError) as caught:
        kray.mix(missing, tmp_path / "out", shards=2, work=tmp_path / "w1")
    assert caught.value.message == expected.replace(str(tmp_path / "w0"), str(tmp_path / "w1"))
    assert caught.value.returncode == 1


def test_a_worker_that_cannot_see_the_work_folder_fails_clearly(cluster, tmp_path: Path) -> None:
    # On the workers the work folder's path leads to an empty folder, as on
    # a node without the shared volume mounted.
    elsewhere = tmp_path / "not_shared"
    elsewhere.mkdir()
    blind = wrapper(tmp_path / "blind.sh", f"""
args=""
for a in "$@"; do case $a in --work=*) a="--work={elsewhere}";; esac; args="$args $a"; done
exec $real $args""")
    shell = cli("shard", "index", "--work", str(elsewhere), "--shard", "0")
    assert shell.returncode == 1
    expected = shell.stderr.strip().splitlines()[-1].removeprefix("knowmix: error: ")
    env = {"runtime_env": {"env_vars": {"KNOWMIX_BINARY": str(blind)}}}
    with pytest.raises(knowmix.KnowmixError) as caught:
        kray.mix(STEP_03, tmp_path / "out", shards=2, ray_remote_args=env)
    assert expected in str(caught.value)
    assert "shard index" in str(caught.value)
    assert "every node must see" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_losing_a_worker_node_mid_run_still_gives_the_same_bytes(cluster, reference: Path, tmp_path: Path) -> None:
    doomed = cluster.add_node(num_cpus=2, object_store_memory=80 * 2**20)
    cluster.wait_for_nodes()
    log = tmp_path / "starts.log"
    slow = wrapper(tmp_path / "slow.sh", f'echo "$*" >> {log}\nsleep 2\nexec $real "$@"')
    env = {"runtime_env": {"env_vars": {"KNOWMIX_BINARY": str(slow)}}}
    result: dict = {}

    def run() -> None:
        try:
            result["manifest"] = kray.mix(STEP_03, tmp_path / "out", shards=5, ray_remote_args=env)
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc

    driver = threading.Thread(target=run)
    driver.start()
    deadline = time.monotonic() + 120
    # 5 index shards on 1 + 2 + 2 CPUs: wait until all five run, then pull a node.
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 5):
        time.sleep(0.1)
    assert log.exists(), "no shard started"
    cluster.remove_node(doomed, allow_graceful=False)
    driver.join(timeout=300)
    assert not driver.is_alive()
    assert "error" not in result, result.get("error")
    starts = log.read_text().splitlines()
    assert len(starts) > 10, "no shard was rerun after the node was lost"
    assert cut_files(tmp_path / "out" / "training_mix") == cut_files(reference)
    assert cut_entries(result["manifest"]) == cut_entries(json.loads((reference / "manifest.json").read_text()))
