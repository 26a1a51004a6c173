#!/usr/bin/env bash
# The main job: set up the venv, then run the whole pipeline on a profile
# (default cpu): `bash scripts/run.sh [smoke|cpu|paper] [extra dvc exp run args]`.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-cpu}
shift || true
bash scripts/setup.sh
VENV=${FSS_VENV:-.venv}
export PATH="$(cd "$VENV" && pwd)/bin:$PATH"
if [ -z "${FSS_CUFS:-}" ]; then
  echo "note: FSS_CUFS is not set: the pipeline runs on SYNTHETIC data (not real results)" >&2
fi
dvc exp run -S "profile=$profile" "$@"
# A short readable summary (Tables 3 and 7, where the report is); every metric:
# `dvc metrics show`.
fss summary
