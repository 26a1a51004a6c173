#!/usr/bin/env bash
# The test command: set up the venv, then lint and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${FSS_VENV:-.venv}
"$VENV/bin/ruff" check .
# the slowest tests are listed, so CI shows where its time goes
"$VENV/bin/python" -m pytest -q --durations=15 "$@"
