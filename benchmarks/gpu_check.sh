#!/usr/bin/env bash
# The GPU path in one run (issue 28; benchmarks/gpu_check.py says what it measures). Prints one JSON summary.
#
#   bash benchmarks/gpu_check.sh --dry-run              # CPU: every step on a tiny synthetic set (no CUDA needed)
#   bash benchmarks/gpu_check.sh --data PREPARED        # on the device machine: full sizes, CUDA, bf16 autocast
#
# Wheels carried in the tree (the device tool's README: `pip download --only-binary=:all: ... -d .whl`, e.g.
# faiss-gpu and anything the machine lacks) are installed first when .whl/ holds any; the prepared set
# must travel in the tree too (a folder ignored by git, named in the run's `carry`), since ../shared does not.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; fi
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu-check-site .whl/*.whl
    export PYTHONPATH="/tmp/gpu-check-site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}"
exec "$PYTHON" benchmarks/gpu_check.py "$@"
