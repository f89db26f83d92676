"""What the Kubeflow components do once inside their container, kept here
(standard library only) so that the component bodies in :mod:`knowmix.kfp`
stay a few lines that call the installed package, and so it can be tested
without KFP.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict

import knowmix
from knowmix import KnowmixError

#: The CLI's default tokenizer id (resolved offline: HF cache, else embedded).
DEFAULT_TOKENIZER = "RedHatAI/Llama-3.1-8B-Instruct"

_TOKENIZER_FILES = [
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "special_tokens_map.json",
]


def tokenizer_source(name: str) -> str:
    """What to pass as ``--tokenizer``: a local path or the default id as
    given (knowmix finds those offline); another hub id is downloaded first
    (only its tokenizer files) when ``huggingface_hub`` is installed, using
    ``HF_TOKEN`` as the notebook does. Without it the id is passed on and
    knowmix looks for it in the local HF cache."""
    if name == DEFAULT_TOKENIZER or os.path.exists(name):
        return name
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return name
    return snapshot_download(repo_id=name, allow_patterns=_TOKENIZER_FILES)


def publish(folder: Path, dataset_file: Path) -> str:
    """Move the cut files and manifest that knowmix wrote to
    ``folder/training_mix`` up into ``folder`` (the reference component
    writes ``combined_cut_{N}x.jsonl`` at the top of its output; a rename on
    the same volume) and copy the largest feasible cut to ``dataset_file``,
    the file the training step reads. Returns the largest cut's path in
    ``folder``, as the reference component does."""
    manifest: Dict[str, Any] = knowmix.read_manifest(folder)
    training_mix = folder / "training_mix"
    for item in sorted(training_mix.iterdir()):
        os.replace(item, folder / item.name)
    training_mix.rmdir()
    cuts = manifest.get("cuts") or []
    if not cuts:
        reasons = "; ".join(
            f"cut {c.get('cut_size')}: {c.get('reason')}" for c in manifest.get("infeasible_cuts", [])
        )
        raise KnowmixError(f"no feasible cut size, nothing to train on ({reasons})")
    largest = max(cuts, key=lambda c: int(c["cut_size"]))
    chosen = folder / largest["file"]
    dataset_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(chosen, dataset_file)
    return str(chosen)


def mix_into(input: str, folder: str, dataset_file: str, **options: Any) -> str:
    """The single-step component: ``knowmix mix`` into ``folder``, then
    :func:`publish`."""
    knowmix.mix(input, folder, **options)
    return publish(Path(folder), Path(dataset_file))


def merge_into(work: str, folder: str, dataset_file: str) -> str:
    """The pipeline's last step: ``knowmix shard merge`` into ``folder``,
    then :func:`publish`."""
    knowmix.run(["shard", "merge", f"--work={work}", f"--output={folder}"], stream=True)
    return publish(Path(folder), Path(dataset_file))


def work_folder(work_uri: str, workspace: str, run_id: str) -> str:
    """The run's shared work folder: ``WORK_URI/RUN_ID`` when a URI is
    given, else ``WORKSPACE/knowmix-work/RUN_ID`` on the workspace volume."""
    if work_uri:
        return f"{work_uri.rstrip('/')}/{run_id}"
    return f"{workspace.rstrip('/')}/knowmix-work/{run_id}"


def plan(input: str, work: str, shards: int, **options: Any) -> None:
    """``knowmix shard plan`` of ``input`` into ``work``."""
    tokenizer = options.pop("tokenizer", None)
    if tokenizer is not None:
        options["tokenizer"] = tokenizer_source(tokenizer)
    argv = ["shard", "plan", f"--input={input}", f"--work={work}", f"--shards={shards}"]
    knowmix.run(argv + knowmix.option_args(**options), stream=True)


def stage(name: str, work: str, shard: int) -> None:
    """``knowmix shard NAME`` for one shard (index or emit)."""
    knowmix.run(["shard", name, f"--work={work}", f"--shard={shard}"], stream=True)
