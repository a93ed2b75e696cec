#!/usr/bin/env bash
# make demo: train on the shipped sample, score the later sample, evaluate, replay, check drift.
set -euo pipefail
cd "$(dirname "$0")/.."
fraud() { .venv/bin/fraud "$@"; }
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain" >&2; }

step fraud train
fraud train
step "fraud score < sample_data/txns.jsonl > decisions.jsonl"
fraud score < sample_data/txns.jsonl > decisions.jsonl
step "head -n 3 decisions.jsonl"
head -n 3 decisions.jsonl >&2
step fraud evaluate
fraud evaluate
step "fraud replay --tps 10000 --duration 5"
fraud replay --tps 10000 --duration 5
step fraud drift-report
fraud drift-report
