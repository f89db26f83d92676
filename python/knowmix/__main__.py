"""``python -m knowmix ...`` runs the bundled binary, as ``knowmix ...`` does."""

from __future__ import annotations

import os
import subprocess
import sys

from knowmix import KnowmixError, binary


def main() -> int:
    try:
        path = str(binary())
    except KnowmixError as exc:
        print(f"knowmix: error: {exc}", file=sys.stderr)
        return 1
    if sys.platform == "win32":
        return subprocess.call([path, *sys.argv[1:]])
    os.execv(path, [path, *sys.argv[1:]])
    return 1  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
