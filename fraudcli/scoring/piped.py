"""A pipe, decided as its lines arrive: the record path, a batch of what has arrived at a time.

Each read takes every line that has arrived (`io.lines.line_chunks(greedy=True)`), never
waiting for more. A few lines (a live stream, a lone record) are parsed one by one and decided by
`Pipeline.decide`, as ever. Lines that arrived together by the dozen (`cat FILE | fraud score`)
are parsed and validated as one block by the column path's reader (`io.jsonl_blocks`, proved
equal to the one-line parser); each record then still goes through the store one at a time, in
order (`Pipeline.observe`: lookup, then update), and the batch is judged and written over
columns (`BatchJudge`, `output_table`: proved equal to `judge` and `output_record` row by row).
So a record's features and decision are the record path's, whatever the batching; only the
cost per record changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

import numpy as np

from fraudcli.errors import StrictRejectError
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io.jsonl import parse_jsonl_line
from fraudcli.io.lines import line_chunks
from fraudcli.records.accounting import RunSummary, accepted
from fraudcli.records.columns import ValidBlock
from fraudcli.records.duplicates import RecordDuplicates
from fraudcli.records.rejects import Item, Reject, RejectSink
from fraudcli.records.schema import ColumnMap
from fraudcli.scoring.blocks import ColumnScorer
from fraudcli.scoring.output import Scored, ScoredRecords, output_record
from fraudcli.scoring.pipeline import Pipeline

BATCH_LINES = 64  # lines that arrived together, read as a block (fewer: one by one)


@dataclass
class Arrived:
    """Lines that arrived together, read as a block; `lines` are their bytes, the first one
    numbered `first` (a duplicate's reject quotes its line)."""

    block: ValidBlock
    lines: list[bytes]
    first: int

    def raw(self, line: int) -> str:
        return self.lines[line - self.first].decode("utf-8", "replace").rstrip("\r")


def piped_batches(stream: BinaryIO, columns: ColumnMap) -> Iterator[list[Item] | Arrived]:
    """What has arrived on `stream`, at each read: a few lines as the record path's items,
    many (without a column mapping, none over the size limit) as one block."""
    from fraudcli.io.jsonl_blocks import lines_block

    line_no = 0
    for chunk in line_chunks(stream, greedy=True):  # (read by a thread of its own)
        first = line_no + 1
        line_no += len(chunk)
        if len(chunk) < BATCH_LINES or columns.mapping or None in chunk:
            yield [parse_jsonl_line(raw, first + i, columns) for i, raw in enumerate(chunk)]
        else:
            yield Arrived(lines_block(chunk, first, columns), chunk, first)


def decided_pipe(
    batches: Iterator[list[Item] | Arrived],
    pipeline: Pipeline,
    rejects: RejectSink,
    summary: RunSummary,
    *,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[Scored | ScoredRecords]:
    """Each batch decided on the record path, counted into `summary` (as `tallied` counts)."""
    import time

    started, dedupe = time.perf_counter(), RecordDuplicates()
    columns = ColumnScorer(None, pipeline.scorer, pipeline.engine, with_features)  # judging only
    for batch in batches:
        if isinstance(batch, Arrived):
            n_read = batch.block.n_read
            scored, found = _block(batch, dedupe, pipeline, columns)
            _rejected(found, rejects, strict)
            written = scored.table.num_rows
        else:
            n_read = len(batch)
            scored = _records(_items(batch, dedupe, pipeline, rejects, strict), with_features)
            written = len(scored.rows)
        _count(summary, scored.decisions())
        yield scored
        summary.read += n_read
        summary.written += written
        if on_batch is not None:
            on_batch(n_read)
    summary.rejected, summary.reject_reasons = rejects.count, dict(rejects.reasons)
    summary.seconds = time.perf_counter() - started


def _items(batch, dedupe, pipeline, rejects, strict):
    """A few lines, record by record."""
    ((_, txns),) = accepted([batch], rejects, strict, dedupe)
    decide = pipeline.decide
    return txns, [decide(txn) for txn in txns]


def _records(decided, with_features: bool) -> ScoredRecords:
    txns, results = decided
    features = [values for values, _ in results]
    decisions = [decision for _, decision in results]
    rows = [
        output_record(txn, decision, values if with_features else None)
        for txn, (values, decision) in zip(txns, results, strict=True)
    ]
    return ScoredRecords(txns, features, decisions, rows)


def _block(arrived: Arrived, dedupe, pipeline: Pipeline, columns: ColumnScorer):
    """Lines that arrived together: duplicates dropped, each record through the store in
    order (`InMemoryStore.observe_values` on the columns' values: no `Txn` per record), then
    judged and written over columns."""
    block = arrived.block
    ids = block.data["transaction_id"].to_pylist()
    keep, duplicates = _first_times(dedupe, ids, block, arrived.raw)  # (raw: only if any)
    ready = columns.take(block, keep)
    data = ready.data
    values = [_values(data, name) for name in _OBSERVED]
    rows = map(pipeline.store.observe_values, *values)  # in order: each sees those before it
    n, width = len(values[0]), len(FEATURE_NAMES)
    ready.X = np.fromiter(chain.from_iterable(rows), np.float64, n * width).reshape(n, width)
    found = sorted([*block.rejects, *duplicates], key=lambda r: r.line)
    return columns.finish(ready), found


# the values `InMemoryStore.observe_values` takes, in its order
_OBSERVED = ("user_id", "ts", "amount", "merchant_id", "country", "device_id", "lat", "lon")
_OBSERVED += ("is_fraud",)


def _values(data, name: str) -> list:
    return data[name].to_pylist()


def _first_times(dedupe: RecordDuplicates, ids: list[str], block: ValidBlock, raw):
    """Which rows hold an id not seen before (None: all), and a reject for each other."""
    if dedupe.all_new(ids):
        return None, []
    keep, duplicates, lines = np.ones(len(ids), dtype=bool), [], block.lines.tolist()
    for i, tid in enumerate(ids):
        seen = dedupe.check_id(lines[i], raw, tid)
        if seen is not None:
            keep[i] = False
            duplicates.append(seen)
    return keep, duplicates


def _rejected(found: list[Reject], rejects: RejectSink, strict: bool) -> None:
    for reject in found:
        rejects.add(reject)
        if strict:
            raise StrictRejectError(f"line {reject.line}: {reject.reason} (--strict)")


def _count(summary: RunSummary, decisions: list[str]) -> None:
    for decision in decisions:
        summary.decisions[decision] += 1
