"""`fraud score` throughput: JSONL -> JSONL against bare parse + dump; Parquet -> Parquet."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bench.common import CACHE, big_jsonl, big_table, figure, trained_model


def _parse_and_serialise(path: Path, out: Path) -> float:
    """The floor: read each line, json.loads, json.dumps, write. Same JSON library as we use."""
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    started = time.perf_counter()
    with open(path, "rb") as src, open(out, "w") as dst:
        for line in src:
            dst.write(dumps(json.loads(line)) + "\n")
    return time.perf_counter() - started


def _score(source: Path, output: Path) -> tuple[float, int]:
    from fraudcli.config import load_config
    from fraudcli.score import score_file

    started = time.perf_counter()
    summary = score_file(source, output, config=load_config(), model_dir=trained_model())
    return time.perf_counter() - started, summary.read


def run() -> None:
    jsonl = big_jsonl()
    out = CACHE / "scored.jsonl"
    floor = _parse_and_serialise(jsonl, out)
    seconds, n = _score(jsonl, out)
    figure(f"score JSONL -> JSONL, {n:,} txns", f"{n / seconds:,.0f} txn/s", "target >= 100,000/s")
    figure("  bare json.loads + json.dumps of the same lines", f"{n / floor:,.0f} lines/s")
    figure("  ratio score / bare parse+serialise", f"{seconds / floor:.2f}x", "target <= 3x")
    seconds, n = _score(big_table(), CACHE / "scored.parquet")
    figure(
        f"score Parquet -> Parquet, {n:,} txns", f"{n / seconds:,.0f} txn/s", "target >= 300,000/s"
    )
    os.remove(out)
