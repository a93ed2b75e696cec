"""`fraud score` on the files people have (`bench.shapes`), a pipe, and a one-record start.

Each file shape is scored in this process, best of two, its start-up (the same command on one
record) subtracted: the steady-state rate, and its ratio to the clean file's. The pipe is
`cat FILE | fraud score` in a shell, against River's predict-then-learn on the same records
(`bench.bench_river`). The start is `fraud score` on a one-line file, median of five runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import shapes
from bench.common import CACHE, figure, trained_model

PIPE_ROWS = 50_000
ROUNDS = 3


def _score_seconds(source: Path, mapping: list[str] | None = None) -> float:
    from fraudcli.commands.score import score_file
    from fraudcli.config import load_config

    config = load_config(None, mapping)
    started = time.perf_counter()
    score_file(source, CACHE / "shape-out.jsonl", config=config, model_dir=trained_model())
    return time.perf_counter() - started


def _start(source: Path, mapping: list[str] | None) -> float:
    """The same command on the file's first record (start-up: bundle, state, modules)."""
    one = CACHE / f"one{source.suffix}"
    with open(source, "rb") as src:
        head = src.readline() + (src.readline() if source.suffix == ".csv" else b"")
    one.write_bytes(head)
    return min(_score_seconds(one, mapping) for _ in range(2))


def _steady_rates(cases: list[tuple[str, Path, list[str] | None]], rows: int) -> dict:
    """Each file's rate with its start-up subtracted, best of ROUNDS rounds that take every
    file in turn (so that a busy spell of the machine does not fall on one file alone)."""
    starts = {name: _start(source, mapping) for name, source, mapping in cases}
    best = dict.fromkeys(starts, 0.0)
    for _ in range(ROUNDS):
        for name, source, mapping in cases:
            seconds = _score_seconds(source, mapping) - starts[name]
            best[name] = max(best[name], rows / max(seconds, 1e-9))
    return best


def _fraud() -> str:
    return str(Path(sys.executable).with_name("fraud"))


def _pipe_rates(source: Path, rows: int) -> tuple[float, float]:
    """`cat FILE | fraud score` in a shell (best of three): the run's own rate, from the
    summary it prints (reading, deciding and writing, without loading the bundle), and the
    rate over the whole command, start-up included."""
    import re

    env = dict(os.environ, NO_COLOR="1")
    command = f"cat {source} | {_fraud()} score --model {trained_model()} > /dev/null"
    steady = whole = 0.0
    for _ in range(3):
        started = time.perf_counter()
        done = subprocess.run(command, shell=True, check=True, env=env, capture_output=True)
        whole = max(whole, rows / (time.perf_counter() - started))
        seconds = float(re.search(rb"\(([0-9.]+) s,", done.stderr)[1])
        steady = max(steady, rows / seconds)
    return steady, whole


def _start_seconds(source: Path) -> list[float]:
    one = CACHE / "one-record.jsonl"
    with open(source, "rb") as src:
        one.write_bytes(src.readline())
    command = [_fraud(), "score", str(one), "--model", str(trained_model())]
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def _river_stream() -> Path:
    """bench_river's records as JSONL, as a pipe would carry them."""
    import json

    from bench.bench_river import _records
    from fraudcli.records.timestamps import format_timestamp

    path = CACHE / "river.jsonl"
    if not path.exists():
        with open(path, "w") as out:
            for txn in _records():
                row = {k: v for k, v in txn.fields().items() if v is not None}
                row["timestamp"] = format_timestamp(txn.ts)
                out.write(json.dumps(row) + "\n")
    return path


def run() -> None:
    n = shapes.ROWS
    cases = [
        ("clean JSONL ('...29Z', nulls left out)", shapes.clean(), None),
        ("pandas to_json ('.000Z', nulls, a mostly-null key)", shapes.pandas_jsonl(), None),
        ("Spark ('.000+01:00', a key on 1% of lines)", shapes.spark_jsonl(), None),
        ("isoformat ('...29+00:00')", shapes.offsets_jsonl(), None),
        ("Kafka Connect (epoch milliseconds, nulls)", shapes.epoch_jsonl(), None),
        ("a daily file with stragglers (1 in 500 late)", shapes.stragglers_jsonl(), None),
        ("clean CSV (the schema's names, nothing quoted)", shapes.plain_csv(), None),
        ("CSV, every cell quoted, own names and --map", shapes.quoted_csv(), shapes.CSV_MAP),
    ]
    rates = _steady_rates(cases, n)
    clean, plain = rates[cases[0][0]], rates[cases[6][0]]
    figure(f"{cases[0][0]}, {n:,} rows", f"{clean:,.0f} txn/s", f"best of {ROUNDS}")
    for label, _, _ in cases[1:6]:
        rate = rates[label]
        figure(f"  {label}", f"{rate:,.0f} txn/s", f"{rate / clean:.2f}x clean (aim >= 0.8)")
    figure(cases[6][0], f"{plain:,.0f} txn/s", f"{plain / clean:.2f}x clean JSONL")
    rate = rates[cases[7][0]]
    figure(f"  {cases[7][0]}", f"{rate:,.0f} txn/s", f"{rate / plain:.2f}x clean CSV")
    from bench.bench_river import _records, _river_rate

    river = max(_river_rate(_records()) for _ in range(2))
    steady, whole = _pipe_rates(_river_stream(), PIPE_ROWS)
    figure(
        f"pipe: cat FILE | fraud score, {PIPE_ROWS:,} records",
        f"{steady:,.0f} txn/s",
        "(its run, best of 3)",
    )
    figure("  the whole command, start-up included", f"{whole:,.0f} txn/s")
    figure("  River predict-then-learn, same records (in memory)", f"{river:,.0f} txn/s")
    figure("  ratio pipe / River", f"{steady / river:.1f}x", "aim >= 10x")
    times = _start_seconds(shapes.clean())
    figure(
        "one-record start: fraud score on one line, median of 5",
        f"{statistics.median(times):.3f} s",
        "aim < 0.35 s",
    )
    figure("  best of 5", f"{min(times):.3f} s")
