#!/usr/bin/env bash
# Installs everything the tests need into .venv, then runs the linters and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# The CPU build of torch that lies on this machine's disk; installed first so that
# sentence-transformers does not pull a multi-GB CUDA build.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[st,test]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False .venv/bin/python -m pytest "$@"
