"""`fraud score`: every record through the pipeline, in order, one decision or one reject each."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fraudcli.config import Config
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io import Item, read_batches
from fraudcli.pipeline import Pipeline, accepted
from fraudcli.rejects import RejectSink
from fraudcli.schema import Txn, format_timestamp
from fraudcli.score_columns import ColumnScorer, Scored, scored_blocks
from fraudcli.writers import open_writer


@dataclass
class RunSummary:
    """What a run read, wrote and rejected: read == written + rejected, always."""

    read: int = 0
    written: int = 0
    rejected: int = 0
    decisions: Counter = field(default_factory=Counter)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "decisions": dict(self.decisions),
            "reject_reasons": self.reject_reasons,
            "seconds": round(self.seconds, 3),
        }


def score_stream(
    batches: Iterable[list[Item]],
    pipeline: Pipeline,
    write: Callable[[list[dict]], None],
    rejects: RejectSink,
    *,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> RunSummary:
    """Decide every record of `batches` and `write` the outputs batch by batch."""
    summary = RunSummary()
    decide = pipeline.decide
    for txns in tallied(batches, rejects, summary, strict=strict, on_batch=on_batch):
        out = []
        for txn in txns:
            features, decision = decide(txn)
            out.append(output_record(txn, decision, features if with_features else None))
            summary.decisions[decision.decision] += 1
        write(out)
    return summary


def tallied(
    batches: Iterable[list[Item]],
    rejects: RejectSink,
    summary: RunSummary,
    *,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[list[Txn]]:
    """The valid transactions of each batch, counted into `summary` as they are consumed:
    read, written (= valid), rejected with reasons, and the time taken."""
    started = time.perf_counter()
    for n_read, txns in accepted(batches, rejects, strict):
        yield txns
        summary.read += n_read
        summary.written += len(txns)
        if on_batch is not None:
            on_batch(n_read)
    summary.rejected, summary.reject_reasons = rejects.count, dict(rejects.reasons)
    summary.seconds = time.perf_counter() - started


def output_record(txn: Txn, decision, features: list[float] | None) -> dict:
    """One decision as an output row: ids, time, amount, probability, decision, reasons."""
    probability = decision.fraud_probability
    row = {
        "transaction_id": txn.transaction_id,
        "user_id": txn.user_id,
        "timestamp": txn.ts_text or format_timestamp(txn.ts),
        "amount": txn.amount,
        "fraud_probability": None if probability is None else round(probability, 6),
        "decision": decision.decision,
        "reasons": list(decision.reasons),
    }
    if decision.degraded:
        row["degraded"] = True
    if features:
        row.update(zip(FEATURE_NAMES, features, strict=True))
    if txn.extras:
        for key, value in txn.extras.items():
            row.setdefault(key, value)
    return row


def score_file(
    data: Path | None,
    output: Path | None,
    *,
    config: Config,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    fresh_state: bool = False,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> RunSummary:
    """Score `data` (JSONL on stdin when None) with the bundle and write decisions to `output`.

    A JSONL, Parquet or CSV file (stdin redirected from a file included) goes through the column
    path (`fraudcli.score_columns`), a block of rows at a time; a pipe goes record by record,
    so each piped record is decided as soon as it arrives. Both give the same output."""
    from fraudcli.runtime import load_pipeline

    blocks = column_blocks(data, config.columns)
    writer, sink = open_writer(output), RejectSink(rejects_path)
    try:
        if blocks is not None:
            scorer = load_column_scorer(config, model_dir, fresh_state, with_features)
            summary = RunSummary()
            with ThreadPoolExecutor(1, thread_name_prefix="write") as behind:
                written = None  # the previous block, written while this one is scored
                for scored in scored_blocks(
                    read_ahead(blocks), scorer, sink, summary, strict=strict, on_batch=on_batch
                ):
                    if written is not None:
                        written.result()
                    written = behind.submit(writer.write_arrow, scored.table, scored.rows)
                if written is not None:
                    written.result()
            return summary
        pipeline = load_pipeline(config, model_dir, fresh_state=fresh_state).pipeline
        return score_stream(
            read_batches(data, config.columns),
            pipeline,
            writer.write,
            sink,
            with_features=with_features,
            strict=strict,
            on_batch=on_batch,
        )
    finally:
        writer.close()
        sink.close()


BLOCK_ROWS = 1 << 19  # records per block of CSV, or of JSONL parsed line by line (mapped keys)
PARQUET_ROWS = 1 << 18  # Parquet rows per block: measured fastest here (each block re-reads the
# stored state, and blocks of 1M rows sort out of cache)


def read_ahead(blocks: Iterator) -> Iterator:
    """`blocks`, each read (and parsed) in a thread while the one before is scored: Arrow's
    reading and NumPy's kernels let go of the GIL, so the two overlap on two cores."""
    with ThreadPoolExecutor(1, thread_name_prefix="read") as ahead:
        job = ahead.submit(next, blocks, None)
        while (block := job.result()) is not None:
            job = ahead.submit(next, blocks, None)
            yield block


def scored_file(
    data: Path | None,
    config: Config,
    bundle,
    sink: RejectSink,
    summary: RunSummary,
    *,
    fresh_state: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[Scored] | None:
    """The blocks of `data` decided on the column path, continuing from `bundle`'s state and
    counted into `summary`; None when `data` is for the record path (a pipe)."""
    blocks = column_blocks(data, config.columns)
    if blocks is None:
        return None
    scorer = column_scorer(bundle, config, fresh_state, features=False)
    blocks = read_ahead(blocks)
    return scored_blocks(blocks, scorer, sink, summary, strict=strict, on_batch=on_batch)


def column_blocks(data: Path | None, columns) -> Iterator | None:
    """Blocks of valid records as columns, or None when the input is for the record path."""
    from fraudcli.columnar import parquet_blocks
    from fraudcli.io import detect_format, ensure_readable

    if data is None or str(data) == "-":
        try:
            regular = stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
        except (AttributeError, OSError, ValueError):  # stdin replaced, e.g. in tests
            regular = False
        if not regular:
            return None
        return jsonl_blocks(getattr(sys.stdin, "buffer", sys.stdin), columns)
    fmt = detect_format(data)
    if fmt == "parquet":
        return parquet_blocks(ensure_readable(data), columns, PARQUET_ROWS)
    if fmt == "jsonl":
        return _jsonl_file_blocks(ensure_readable(data), columns)
    from fraudcli.csv_columns import csv_blocks

    return csv_blocks(ensure_readable(data), columns, BLOCK_ROWS)


def _jsonl_file_blocks(path: Path, columns) -> Iterator:
    with open(path, "rb") as stream:
        yield from jsonl_blocks(stream, columns)


def jsonl_blocks(stream, columns) -> Iterator:
    """JSONL as blocks of records: Arrow's JSON reader with the record path's parse for every
    line Arrow might read differently (`fraudcli.jsonl_columns`). Renamed columns (a mapping in
    fraud.toml) are parsed line by line as the record path does, then gathered into blocks."""
    from fraudcli.io import _jsonl_batches
    from fraudcli.jsonl_columns import jsonl_blocks as arrow_blocks

    if not columns.mapping:
        yield from arrow_blocks(stream, columns)
        return
    yield from _item_blocks(_jsonl_batches(stream, columns))


def _item_blocks(batches: Iterable[list[Item]]) -> Iterator:
    """The record path's parsed batches gathered into blocks of `BLOCK_ROWS` records."""
    from fraudcli.columnar import block_of_items

    items: list = []
    for batch in batches:
        items += batch
        if len(items) >= BLOCK_ROWS:
            yield block_of_items(items)
            items = []
    if items:
        yield block_of_items(items)


def load_column_scorer(config: Config, model_dir, fresh_state: bool, features: bool):
    """The bundle's model, thresholds and state, set up for the column path."""
    from fraudcli.bundle import DEFAULT_MODEL_DIR, load_bundle

    return column_scorer(load_bundle(model_dir or DEFAULT_MODEL_DIR), config, fresh_state, features)


def column_scorer(bundle, config: Config, fresh_state: bool, features: bool) -> ColumnScorer:
    """A loaded bundle's model, thresholds and state, set up for the column path."""
    from fraudcli.features.continued import ColumnState
    from fraudcli.features.store import StoreConfig
    from fraudcli.model.scorer import load_scorer
    from fraudcli.runtime import build_engine

    store_config = StoreConfig(**bundle.store)
    state = (
        ColumnState(store_config)
        if fresh_state
        else ColumnState.from_snapshot(bundle.state, store_config)
    )
    engine = build_engine(config, bundle.thresholds)
    return ColumnScorer(state, load_scorer(bundle.model), engine, features)
