#!/usr/bin/env bash
# The test command: set up the venv, then lint and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${FSS_VENV:-.venv}
"$VENV/bin/ruff" check .
# One worker per core (pytest-xdist), each torch on one thread: two heavy torch jobs on
# 2 cores with 2 threads each run several times slower (oversubscription); this way the
# suite took 130 s where one process took 203 s. A file's tests stay in one worker, so
# a module's fixtures are built once. The slowest tests are listed: where CI's time goes.
# FSS_TEST_WORKERS overrides the count (xdist's auto counts cores, not a CPU quota).
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$VENV/bin/python" -m pytest -q \
  -n "${FSS_TEST_WORKERS:-auto}" --dist loadfile \
  --durations=15 "$@"
