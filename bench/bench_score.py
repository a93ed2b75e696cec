"""`fraud score` throughput: JSONL -> JSONL against bare parse + dump; Parquet -> Parquet.

A file goes through the column path (`fraudcli.scoring.blocks`): lines parsed by Arrow's JSON
reader (`fraudcli.io.jsonl_blocks`), everything after them over columns, written by our Arrow
encoder (`fraudcli.jsonl_encode`). Two floors of bare parse + serialise of the same lines:
those same two libraries (Arrow's reader, our encoder), and the stdlib json.loads + json.dumps
that the record path uses. The record path (what a pipe takes) is timed on a slice, and CSV
(parsed row by row) on the first 300,000 rows.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bench.common import CACHE, big_jsonl, big_table, figure, trained_model

RECORD_PATH_ROWS = 100_000
CSV_ROWS = 300_000


def _stdlib_floor(path: Path, out: Path) -> float:
    """Read each line, json.loads, json.dumps, write: the record path's JSON library."""
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    started = time.perf_counter()
    with open(path, "rb") as src, open(out, "w") as dst:
        for line in src:
            dst.write(dumps(json.loads(line)) + "\n")
    return time.perf_counter() - started


def _arrow_floor(path: Path, out: Path) -> float:
    """Arrow's JSON reader over the file, our encoder back to JSONL, write: the column path's
    JSON libraries with nothing in between."""
    import pyarrow.json as pj

    from fraudcli.io._arrow_json import PARSE  # the schema's types, as the column path reads
    from fraudcli.io.jsonl_encode import jsonl_chunks

    started = time.perf_counter()
    options = pj.ReadOptions(block_size=1 << 24)
    table = pj.read_json(path, read_options=options, parse_options=PARSE)
    with open(out, "wb") as dst:
        for chunk in jsonl_chunks(table):
            dst.write(chunk)
    return time.perf_counter() - started


def _score(source: Path, output: Path) -> tuple[float, int]:
    from fraudcli.commands.score import score_file
    from fraudcli.config.load import load_config

    started = time.perf_counter()
    summary = score_file(source, output, config=load_config(), model_dir=trained_model())
    return time.perf_counter() - started, summary.read


def _record_path(source: Path) -> float:
    """The record path (pipes take it) on the first lines: records/s."""
    from fraudcli.config.load import load_config
    from fraudcli.io.read import read_batches
    from fraudcli.io.writers import JsonlWriter
    from fraudcli.records.accounting import RunSummary
    from fraudcli.records.rejects import RejectSink
    from fraudcli.scoring.decided import scored_records
    from fraudcli.scoring.load import open_bundle

    head = CACHE / "head.jsonl"
    with open(source, "rb") as src, open(head, "wb") as dst:
        for _, line in zip(range(RECORD_PATH_ROWS), src, strict=False):
            dst.write(line)
    pipeline = open_bundle(load_config(), trained_model()).pipeline
    writer = JsonlWriter(CACHE / "head-scored.jsonl")
    started, summary = time.perf_counter(), RunSummary()
    for batch in scored_records(read_batches(head), pipeline, RejectSink(None), summary):
        writer.write(list(batch.rows.values()))
    seconds = time.perf_counter() - started
    writer.close()
    return summary.read / seconds


def run() -> None:
    jsonl = big_jsonl()
    out = CACHE / "scored.jsonl"
    stdlib = _stdlib_floor(jsonl, out)
    arrow = min(_arrow_floor(jsonl, out) for _ in range(2))
    seconds, n = min(_score(jsonl, out) for _ in range(2))
    figure(f"score JSONL -> JSONL, {n:,} txns", f"{n / seconds:,.0f} txn/s", "target >= 100,000/s")
    figure("  bare Arrow read_json + our encoder, same lines", f"{n / arrow:,.0f} lines/s")
    figure("  ratio score / that (the libraries we use)", f"{seconds / arrow:.2f}x", "target <= 3x")
    figure("  bare json.loads + json.dumps of the same lines", f"{n / stdlib:,.0f} lines/s")
    figure("  ratio score / that (the stdlib)", f"{seconds / stdlib:.2f}x")
    rate = _record_path(jsonl)
    figure(f"  record path (a pipe), first {RECORD_PATH_ROWS:,} lines", f"{rate:,.0f} txn/s")
    seconds, n = min(_score(big_table(), CACHE / "scored.parquet") for _ in range(2))
    figure(
        f"score Parquet -> Parquet, {n:,} txns", f"{n / seconds:,.0f} txn/s", "target >= 300,000/s"
    )
    seconds, n = _score(_big_csv(), out)
    figure(f"score CSV -> JSONL, {n:,} txns", f"{n / seconds:,.0f} txn/s")
    os.remove(out)


def _big_csv() -> Path:
    """The first CSV_ROWS of the big table as CSV, timestamps as ISO text."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = CACHE / "big.csv"
    if not path.exists():
        table = pq.read_table(big_table()).slice(0, CSV_ROWS)
        seconds = table["timestamp"].cast(pa.timestamp("s", "UTC"), safe=False)
        stamps = pc.strftime(seconds, "%Y-%m-%dT%H:%M:%SZ")
        pacsv.write_csv(table.set_column(1, "timestamp", stamps), path)
    return path
