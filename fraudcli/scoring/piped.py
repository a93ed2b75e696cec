"""A pipe, decided as its lines arrive: the record path, a batch of what has arrived at a time.

Each read takes every line that has arrived (`io.lines.line_chunks(greedy=True)`), never
waiting for more. A few lines (a live stream, a lone record) are parsed one by one and decided by
`Pipeline.decide`, as ever. Lines that arrived together by the dozen (`cat FILE | fraud score`)
are parsed and validated as one block by the column path's reader (`io.jsonl_blocks`, proved
equal to the one-line parser); each record then still goes through the store one at a time, in
order (`InMemoryStore.observe_values`: the duplicate rule, lookup, then update), and the batch
is judged and written over columns (`BatchJudge`, `output_table`: proved equal to `judge` and
`output_record` row by row). So a record's features and decision are the record path's,
whatever the batching; only the cost per record changes. Each batch carries the state after it
(`.state`, for a checkpoint of exactly what was written), and Ctrl-C / SIGTERM wait for the
batch's end (`interrupts.region`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

import numpy as np

from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io.jsonl import parse_jsonl_line
from fraudcli.io.lines import line_chunks
from fraudcli.records.accounting import RunSummary, counted
from fraudcli.records.columns import ValidBlock
from fraudcli.records.rejects import Item, Reject, RejectSink
from fraudcli.records.schema import ColumnMap
from fraudcli.scoring.blocks import ColumnScorer
from fraudcli.scoring.interrupts import region
from fraudcli.scoring.items import decide_items
from fraudcli.scoring.output import Scored, ScoredRecords
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
    columns = ColumnScorer(None, pipeline.scorer, pipeline.engine, with_features)  # judging only

    def decide(batch: list[Item] | Arrived) -> tuple[Scored | ScoredRecords, int, int]:
        if isinstance(batch, Arrived):
            scored, found = _block(batch, pipeline, columns)
            for reject in found:
                rejects.add(reject, strict)
            for decision in scored.decisions():
                summary.decisions[decision] += 1
            n_read, written = batch.block.n_read, scored.table.num_rows
        else:
            scored = decide_items(pipeline, batch, rejects, summary, with_features, strict)
            n_read, written = len(batch), len(scored.rows)
        scored.state = pipeline.store.snapshot  # the state after it, until the next batch
        return scored, n_read, written

    return counted(map(decide, batches), rejects, summary, on_batch)


def _block(arrived: Arrived, pipeline: Pipeline, columns: ColumnScorer):
    """Lines that arrived together: each record through the store in order
    (`InMemoryStore.observe_values` on the columns' values: no `Txn` per record; None for a
    duplicate, which changes nothing), then the others judged and written over columns."""
    block = arrived.block
    data = block.data
    values = [_values(data, name) for name in _OBSERVED]
    with region():  # (in order: each sees those before it)
        rows = list(map(pipeline.store.observe_values, *values))
    keep, duplicates = None, []
    if None in rows:
        keep = np.array([row is not None for row in rows], dtype=bool)
        lines, ids = block.lines.tolist(), values[0]
        duplicates = [
            Reject(lines[i], f"duplicate transaction_id {ids[i]!r}", arrived.raw(lines[i]))
            for i in np.flatnonzero(~keep).tolist()
        ]
        rows = [row for row in rows if row is not None]
    ready = columns.take(block, keep)
    n, width = len(rows), len(FEATURE_NAMES)
    ready.X = np.fromiter(chain.from_iterable(rows), np.float64, n * width).reshape(n, width)
    found = sorted([*block.rejects, *duplicates], key=lambda r: r.line)
    return columns.finish(ready), found


# the values `InMemoryStore.observe_values` takes, in its order
_OBSERVED = ("transaction_id", "user_id", "ts", "amount", "merchant_id", "country", "device_id")
_OBSERVED += ("lat", "lon", "is_fraud")


def _values(data, name: str) -> list:
    array = data.get(name)
    return [None] * len(data["ts"]) if array is None else array.to_pylist()
