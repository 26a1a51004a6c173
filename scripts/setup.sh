#!/usr/bin/env bash
# Build (or refresh) the project's virtualenv: $FSS_VENV, default .venv in the repo.
# Safe to run repeatedly: the heavy install happens once per pyproject.toml version.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FSS_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.fss-deps-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  # torch first and pinned: a later package must never pull a different build.
  "$VENV/bin/pip" install -q torch==2.14.1 torchvision==0.29.1
  "$VENV/bin/pip" install -q -e ".[dev]"
  # facenet-pytorch (MTCNN, FaceNet) pins torch<2.3; its code runs on 2.14, so no deps.
  "$VENV/bin/pip" install -q --no-deps facenet-pytorch==2.6.0
  # mediapipe's wheel ships the selfie-segmentation and face-mesh models (the registry
  # finds them there, sha256-checked, never importing the package), so `fss sketch` needs
  # no FSS_WEIGHTS; its own dependencies (jax, protobuf<5, opencv) are not needed.
  "$VENV/bin/pip" install -q --no-deps mediapipe==0.10.14
  touch "$stamp"
else
  # The venv may live outside this clone (CI cache): point the package at this clone.
  "$VENV/bin/pip" install -q --no-deps -e .
fi
"$VENV/bin/python" -c "import torch, sys; v = torch.__version__; \
sys.exit(0 if v.startswith('2.14.1') else f'torch {v} installed, expected 2.14.1')"
echo "venv ready: $VENV"
