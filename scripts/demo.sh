#!/usr/bin/env bash
# make demo: train on the shipped sample, score the later sample, evaluate, replay, drift.
set -euo pipefail
cd "$(dirname "$0")/.."
fraud() { .venv/bin/fraud "$@"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; }

step fraud train
fraud train
step "fraud score < sample_data/txns.jsonl > decisions.jsonl"
fraud score < sample_data/txns.jsonl > decisions.jsonl
step "head -n 3 decisions.jsonl"
head -n 3 decisions.jsonl >&2
step fraud evaluate
fraud evaluate
