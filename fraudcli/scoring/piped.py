"""A pipe, decided as its lines arrive: a batch of what has arrived at a time.

Each read takes every line that has arrived (`io.lines.line_chunks(greedy=True)`), never
waiting for more. A few lines (a live stream, a lone record) are parsed one by one and decided by
`Pipeline.decide`, as ever. Lines that arrived together by the dozen are parsed and validated
as one block by the column path's reader (`io.jsonl_blocks`, proved equal to the one-line
parser); each record then still goes through the store one at a time, in order
(`InMemoryStore.observe_values`: the duplicate rule, lookup, then update), and the batch is
judged and written over columns (`BatchJudge`, `output_table`: proved equal to `judge` and
`output_record` row by row). A backlog of thousands (`cat FILE | fraud score`) goes through the
column path's features as a file does (`PipePaths`). So a record's features and decision are
the record path's, whatever the batching; only the cost per record changes. Each batch carries
the state after it (`.state`, for a checkpoint of exactly what was written), and Ctrl-C /
SIGTERM wait for the batch's end (`interrupts.region`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore
from fraudcli.io.jsonl import parse_jsonl_line
from fraudcli.io.lines import line_chunks
from fraudcli.records.accounting import RunSummary, counted
from fraudcli.records.columns import ValidBlock, block_of_items
from fraudcli.records.rejects import Item, Reject, RejectSink
from fraudcli.records.schema import ColumnMap
from fraudcli.scoring.interrupts import region
from fraudcli.scoring.items import decide_items
from fraudcli.scoring.output import Scored, ScoredRecords
from fraudcli.scoring.pipeline import Pipeline

if TYPE_CHECKING:
    from fraudcli.records.duplicates import BlockDuplicates
    from fraudcli.scoring.blocks import ColumnScorer
    from fraudcli.scoring.load import OpenBundle

BATCH_LINES = 64  # lines that arrived together, read as a block (fewer: one by one)
BACKLOG_BYTES = 8192  # waiting on the pipe at the start: a backlog (about 30 lines and more)


def backlog_waiting(stream: BinaryIO) -> bool:
    """Whether `stream` (a pipe) already holds a backlog, `BACKLOG_BYTES` or more unread: then
    its first batch goes over columns, whose modules (pandas among them, 0.2 s) are worth
    loading before the run starts; a lone line never loads them."""
    import fcntl
    import struct
    import termios

    try:
        waiting = fcntl.ioctl(stream.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except (OSError, ValueError, AttributeError):  # (not a pipe, a file object of Python's)
        return False
    return struct.unpack("i", waiting)[0] >= BACKLOG_BYTES


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
    line_no = 0
    for chunk in line_chunks(stream, greedy=True):  # (read by a thread of its own)
        yield arrived(chunk, line_no + 1, columns)
        line_no += len(chunk)


def arrived(chunk: list[bytes | None], first: int, columns: ColumnMap) -> list[Item] | Arrived:
    """Lines that arrived together, the first numbered `first`: a few as the record path's
    items, many (without a column mapping, none over the size limit) as one block."""
    if len(chunk) < BATCH_LINES or columns.mapping or None in chunk:
        return [parse_jsonl_line(raw, first + i, columns) for i, raw in enumerate(chunk)]
    from fraudcli.io.jsonl_blocks import lines_block

    return Arrived(lines_block(chunk, first, columns), chunk, first)


def decided_pipe(
    batches: Iterator[list[Item] | Arrived],
    opened: OpenBundle,
    rejects: RejectSink,
    summary: RunSummary,
    *,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[Scored | ScoredRecords]:
    """Each batch decided, on the path its size suits (`PipePaths`), counted into `summary`
    (as `tallied` counts)."""
    paths = PipePaths(opened, with_features)

    def decide(batch: list[Item] | Arrived) -> tuple[Scored | ScoredRecords, int, int]:
        items = isinstance(batch, list)
        if paths.route(len(batch) if items else batch.block.n_read):
            block = block_of_items(batch) if items else batch.block
            scored, found = paths.column_block(block)
        elif items:
            pipeline = paths.pipeline
            scored = decide_items(pipeline, batch, rejects, summary, with_features, strict)
            scored.state = pipeline.store.snapshot  # the state after it, until the next batch
            return scored, len(batch), len(scored.rows)
        else:
            scored, found = _block(batch, paths.pipeline, paths.judging)
            scored.state = paths.pipeline.store.snapshot
        for reject in found:
            rejects.add(reject, strict)
        summary.decisions.update(scored.decisions())
        written = len(scored.rows) if scored.table is None else scored.table.num_rows
        return scored, (len(batch) if items else batch.block.n_read), written

    return counted(map(decide, batches), rejects, summary, on_batch)


class PipePaths:
    """The pipe's state, held by the path that suits what arrives. Lines arriving a few at a
    time go through the record path's store (`InMemoryStore`) one by one; a backlog of
    thousands (`cat FILE | fraud score`) goes through the column path's features
    (`ColumnState.step`, proved equal to lookup-then-update), which cost a pass over the whole
    state per batch but a few µs a record. The state moves from one to the other when the
    batches' size says so (each move also costs a pass over the state), and stays on the
    record path once a batch could not be continued over columns (records late by more than
    the lateness), as the column path of a file does. Either way a record's output is the
    record path's (`tests/scoring/test_piped.py`)."""

    # the column path for a batch of at least max(ENTER_LINES, entries / ENTER_PER_ENTRY)
    # lines; back to records below max(LEAVE_LINES, entries / LEAVE_PER_ENTRY): measured here
    # (a state of 236,000 entries): a step costs 27 ms + 4 µs a record, the record path
    # 45-60 µs a record, a move 0.1-0.2 s
    ENTER_LINES, ENTER_PER_ENTRY = 1024, 256
    LEAVE_LINES, LEAVE_PER_ENTRY = 256, 1024
    # from a store not touched yet, no move: the record path's first records cost 300 µs each
    # (each key read from the stored tables), the column path starts from those tables
    ENTER_FRESH = (BATCH_LINES, 4096)

    def __init__(self, opened: OpenBundle, with_features: bool) -> None:
        self.opened, self.pipeline = opened, opened.pipeline
        self.with_features = with_features
        self.columns: ColumnScorer | None = None  # set while the column path holds the state
        self.dedupe: BlockDuplicates | None = None
        self.stuck = False  # a batch the column path could not continue: records from then on
        self.fresh = True  # no batch yet: the column path starts from the stored tables as cheaply
        self.small = 0  # small batches in a row on the column path
        state = None if opened.fresh_state else opened.state
        self.entries = 0 if state is None else _entries(state)  # about; grows 2 a record

    @cached_property
    def judging(self) -> ColumnScorer:
        """What judges and writes a block of lines that arrived together (made at the first:
        the column path's modules load pandas, 0.2 s a lone line's run never needs)."""
        from fraudcli.scoring.blocks import ColumnScorer

        opened = self.opened
        return ColumnScorer(None, opened.model, opened.engine, self.with_features)

    def route(self, n: int) -> bool:
        """Whether a batch of `n` records goes through the column path (`column_block`) or
        the record path (`pipeline`), the state moved there first if it must."""
        fresh, self.fresh = self.fresh, False
        if self.columns is None:
            enter = self.ENTER_FRESH if fresh else (self.ENTER_LINES, self.ENTER_PER_ENTRY)
            if self.stuck or n < self._threshold(*enter):
                self.entries += 2 * n
                return False
            self._to_columns()
        elif n < self._threshold(self.LEAVE_LINES, self.LEAVE_PER_ENTRY):
            self.small += 1
            if self.small >= 2:  # (one small batch, a file's last lines, stays)
                self._to_records()
                self.entries += 2 * n
                return False
            return True
        self.small = 0
        return True

    def _threshold(self, lines: int, per_entry: int) -> int:
        return max(lines, self.entries // per_entry)

    def column_block(self, block: ValidBlock) -> tuple[Scored | ScoredRecords, list[Reject]]:
        """A block through the column path: its output and its rejects (invalid lines and
        duplicates, in line order)."""
        columns = self.columns
        with region():  # (the state moves: Ctrl-C waits for the batch's end)
            keep, duplicates = self.dedupe.keep(block)
            scored = columns.decide(block, keep)
        found = sorted([*block.rejects, *duplicates], key=lambda r: r.line)
        if columns.record_path is not None:  # it could not: the record path from now on
            store = columns.record_path.store
            store.ids = columns.ids  # (the column path had dropped the duplicates itself)
            self.pipeline.store, self.columns, self.opened.scorer = store, None, None
            self.stuck = True
            scored.state = store.snapshot
            return scored, found
        state = columns.state
        self.entries = len(state.u_ts) + len(state.m_ts)
        scored.state = columns.snapshot
        return scored, found

    def _to_columns(self) -> None:
        from fraudcli.features.continued import ColumnState  # (loads pandas: not for a lone line)
        from fraudcli.records.duplicates import BlockDuplicates

        store = self.pipeline.store
        state = ColumnState.from_snapshot(store.column_tables(), store.config)
        from fraudcli.scoring.blocks import ColumnScorer

        opened = self.opened
        self.columns = ColumnScorer(
            state, opened.model, opened.engine, self.with_features, store.ids
        )
        self.dedupe = BlockDuplicates(store.ids)
        opened.scorer = self.columns  # (whose `snapshot` is the run's state now)

    def _to_records(self) -> None:
        columns = self.columns
        store = InMemoryStore.restore(columns.state.snapshot(), columns.state.config, dedupe=False)
        store.ids = columns.ids
        self.pipeline.store, self.columns, self.opened.scorer = store, None, None


def _entries(tables) -> int:
    return tables["user_entries"].num_rows + tables["merchant_entries"].num_rows


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
