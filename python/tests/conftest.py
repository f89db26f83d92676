"""Shared fixtures: the repository's step-03 fixture corpus and the bytes
`knowmix mix` writes for it, which every front end must reproduce."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

import knowmix

ROOT = Path(__file__).resolve().parents[2]
STEP_03 = ROOT / "fixtures" / "step_03"

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No knowmix settings leak in from the environment or a `.env`."""
    for name in ("CUT_SIZES", "QA_PER_DOC", "SEED", "SAVE_GPT_OSS_FORMAT",
                 "TOKENIZER_MODEL", "TOKENIZER_MODEL_NAME", "KNOWMIX_BINARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KNOWMIX_CACHE_DIR", str(tmp_path / "cache"))


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The binary run directly, as a user would from a shell."""
    return subprocess.run([str(knowmix.binary()), *args], capture_output=True,
                          text=True, cwd=cwd)


def cli_mix(output: Path, *flags: str) -> Path:
    """`knowmix mix` on the fixture corpus; returns OUTPUT/training_mix."""
    done = cli("mix", "--input", str(STEP_03), "--output", str(output), "--quiet", *flags)
    assert done.returncode == 0, done.stderr
    return output / "training_mix"


def cut_files(folder: Path) -> Dict[str, bytes]:
    """The cut files of a training_mix folder, by name."""
    found = {p.name: p.read_bytes() for p in sorted(folder.glob("combined_cut_*"))}
    assert found, f"no cut files in {folder}"
    return found


def cut_entries(manifest: dict) -> List[dict]:
    """What a manifest says about each cut that must not depend on how the
    mix ran (timings and input paths may)."""
    keep = ("cut_size", "file", "bytes", "xxh3_128", "samples", "tokens", "datasets")
    return [{k: c.get(k) for k in keep} for c in manifest["cuts"]]


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """training_mix/ of `knowmix mix` with the defaults (cuts 5,50)."""
    return cli_mix(tmp_path_factory.mktemp("reference"))
