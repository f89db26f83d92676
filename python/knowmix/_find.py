"""Where the ``knowmix`` binary is: the wheel puts it in the environment's
scripts folder (maturin ``bindings = "bin"``, the way ruff and uv ship), so a
Python that imports this package can find the binary that came with it.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Iterator, Optional

#: Environment variable naming the binary to use, ahead of every other place.
ENV_VAR = "KNOWMIX_BINARY"

_EXE = "knowmix" + (sysconfig.get_config_var("EXE") or "")


def _candidates() -> Iterator[Path]:
    """Install locations, most specific first."""
    # The scripts folder of the environment running this interpreter (venv,
    # conda, system): where `pip install` put the wheel's binary.
    yield Path(sysconfig.get_path("scripts")) / _EXE
    # `pip install --user`.
    scheme = (
        sysconfig.get_preferred_scheme("user")
        if sys.version_info >= (3, 10)
        else ("nt_user" if os.name == "nt" else "posix_user")
    )
    try:
        yield Path(sysconfig.get_path("scripts", scheme=scheme)) / _EXE
    except KeyError:  # pragma: no cover - a platform without a user scheme
        pass
    # `pip install --target DIR`: the scripts land in DIR/bin beside the package.
    yield Path(__file__).resolve().parent.parent / "bin" / _EXE


def find_binary() -> Optional[Path]:
    """The binary: ``$KNOWMIX_BINARY`` when set (an explicit choice wins),
    else the one installed with this package, else ``knowmix`` on ``PATH``.
    Returns ``None`` when there is none; a set but missing
    ``$KNOWMIX_BINARY`` is returned as is so the caller can name it."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit)
    for path in _candidates():
        if path.is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which(_EXE)
    return Path(found) if found else None
