#!/usr/bin/env bash
# Installs everything the tests need into .venv, then runs the linters and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's Chromium for the browser tests (Playwright drives it; it downloads no browser).
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
# The CPU build of torch that lies on this machine's disk; installed first so that
# sentence-transformers does not pull a multi-GB CUDA build.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[st,test]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
# The quality gate: the gold set's dev split, on a fresh index, against the committed baseline;
# a drop of more than 0.02 in a gated metric fails (exit 8).
gate=$(mktemp -d)
RAG_DATA_DIR="$gate/index" .venv/bin/rag eval --split dev --compare eval/baseline.json --out "$gate/run"
# Last, so that its summary closes the output.
.venv/bin/python -m pytest "$@"
