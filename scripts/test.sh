#!/usr/bin/env bash
# THE test command (README "Set up and run"; `.ci/run` runs exactly this):
# the Rust tests, then the Python package built from this checkout into a
# venv of its own (pinned versions) and its tests: the API, Ray on a local
# multi-node cluster, Kubeflow Pipelines compiled and run locally.
#
#   PYTHON=python3.12 bash scripts/test.sh     # another interpreter
#   KNOWMIX_TEST_VENV=/tmp/v bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${KNOWMIX_TEST_VENV:-$root/.venv-test}
python=${PYTHON:-$(command -v python3.11 || command -v python3)}

cargo test --release

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt

# The venv first on PATH: the build backend runs `maturin`, the KFP local
# runner `python3`, and the tests the installed `knowmix`.
export PATH="$venv/bin:$PATH" RAY_USAGE_STATS_ENABLED=0
unset KNOWMIX_BINARY

# maturin builds the wheel's binary with cargo's release profile in this
# repository's target/, which `cargo test --release` just filled, so nothing
# is compiled twice. No build isolation: the pinned maturin from the venv.
start=$(date +%s)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-build-isolation --no-deps --force-reinstall .
echo "scripts/test.sh: pip install . took $(($(date +%s) - start)) s"

exec "$venv/bin/python" -m pytest python/tests
