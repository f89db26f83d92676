"""``knowmix mix`` spread over a Ray cluster, with the same bytes as one machine.

The CLI splits a mix into stages (``knowmix shard plan|index|emit|merge``)
that read and write a shared work folder; this module only schedules them:
``plan`` on the driver, every index shard and then every emit shard as a
Ray task (one CPU each), then ``merge`` on the driver. A task whose node is
lost is rerun elsewhere (``max_retries``); that is safe because every stage
is idempotent. Ray schedules, knowmix computes: no data passes through Ray.

Storage must be shared by every node: the input, the work folder and the
output are a path that all of them see (an RWX PVC, NFS) or ``s3://``. A
node that cannot see them fails its shard with the CLI's message naming what
is missing, raised here as :class:`knowmix.KnowmixError`.

Ray is imported when :func:`mix` runs, not when this module is imported.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import Any, Dict, List, Optional, Tuple

import knowmix
from knowmix import KnowmixError, PathLike, is_url, option_args, read_manifest

__all__ = ["mix"]

#: What a stage task returns: ``None``, or why it failed and where.
Failure = Optional[Tuple[str, Optional[int], str, str]]


def _location(path: PathLike) -> str:
    """A location every node reads the same way: URLs as given, local paths
    made absolute (a relative path would be relative to each worker)."""
    text = os.fspath(path)
    return text if is_url(text) else os.path.abspath(text)


def run_stage(stage: str, work: str, shard: int, threads: int) -> Failure:
    """Run ``knowmix shard STAGE --work WORK --shard SHARD`` here (a Ray task
    body). A failure is returned, not raised: Ray must not retry a shard the
    CLI rejected (retries are for lost nodes), and the driver raises it as one
    clear :class:`KnowmixError` instead of a remote traceback."""
    argv = ["shard", stage, f"--work={work}", f"--shard={shard}", f"--threads={threads}"]
    try:
        knowmix.run(argv, die_with_parent=True)
    except KnowmixError as exc:
        return (exc.message, exc.returncode, exc.stderr, socket.gethostname())
    return None


def _run_shards(
    ray: Any, stage: str, work: str, shards: int, threads: int, remote_args: Dict[str, Any]
) -> None:
    task = ray.remote(run_stage).options(**remote_args)
    pending = {task.remote(stage, work, i, threads): i for i in range(shards)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        ref = done[0]
        shard = pending.pop(ref)
        try:
            failure: Failure = ray.get(ref)
        except ray.exceptions.RayError as exc:  # retries used up: node or worker lost
            failure = (f"{type(exc).__name__}: {_first_line(exc)}", None, "", "?")
        if failure is not None:
            for other in pending:
                ray.cancel(other, force=True)
            message, code, stderr, host = failure
            raise KnowmixError(
                f"shard {stage} {shard}/{shards} failed on {host}: {message} "
                "(every node must see the input, work and output locations: "
                "a shared path or s3://)",
                code,
                stderr,
                ["shard", stage, f"--work={work}", f"--shard={shard}"],
            ) from None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def mix(
    input: PathLike,
    output: PathLike,
    *,
    shards: int,
    work: Optional[PathLike] = None,
    num_cpus: int = 1,
    max_retries: int = 3,
    keep_work: bool = False,
    ray_remote_args: Optional[Dict[str, Any]] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Run ``knowmix mix`` as ``shards`` index and emit tasks on the Ray
    cluster the caller connected to (``ray.init``); return the manifest.

    ``output`` ends up with the same files as ``knowmix.mix(input, output,
    **options)`` writes, byte for byte. ``work`` is the shared work folder
    (default ``OUTPUT/.knowmix-work``, removed after success unless
    ``keep_work`` or it is a URL). Each task gets ``num_cpus`` CPUs and runs
    knowmix with that many threads; ``max_retries`` reruns a task whose
    worker or node died. ``ray_remote_args`` adds Ray task options, e.g.
    ``{"runtime_env": {"env_vars": {"AWS_ACCESS_KEY_ID": ...}}}`` so workers
    reach ``s3://``. ``options`` are :func:`knowmix.mix`'s (``cut_sizes``,
    ``seed``, ``tokenizer``, ...). Raises :class:`KnowmixError` with the
    CLI's message when a stage fails.
    """
    import ray  # the caller has Ray; `import knowmix` does not need it

    if shards < 1:
        raise KnowmixError(f"shards must be at least 1, got {shards}")
    if "threads" in options:
        raise KnowmixError("knowmix.ray.mix takes num_cpus= (CPUs and threads per shard task), not threads=")
    source, target = _location(input), _location(output)
    folder = _location(work) if work is not None else target.rstrip("/") + "/.knowmix-work"
    plan: List[str] = ["shard", "plan", f"--input={source}", f"--work={folder}", f"--shards={shards}"]
    knowmix.run(plan + option_args(**options))
    remote_args = {"num_cpus": num_cpus, "max_retries": max_retries, **(ray_remote_args or {})}
    for stage in ("index", "emit"):
        _run_shards(ray, stage, folder, shards, num_cpus, remote_args)
    knowmix.run(["shard", "merge", f"--work={folder}", f"--output={target}"])
    if work is None and not keep_work and not is_url(folder):
        shutil.rmtree(folder, ignore_errors=True)
    return read_manifest(target)
