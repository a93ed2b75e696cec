"""Duplicate transaction_ids: a transaction_id seen before in the run is a reject, so a replayed
or double-submitted transaction is never counted twice (in the state, the output or the metrics).

`RecordDuplicates` (the record path) keeps every id in a set. On a block of 256k rows that costs
a Python string per id, a hash and an insert per string, and then every full garbage collection
walks the whole set; so `BlockDuplicates` (the column path) hashes an id to 64 bits from its
bytes with NumPy, keeps the ids seen in their Arrow arrays, and their hashes in sorted runs
(merged as in a log-structured merge: a run joins the one before it when that one is no bigger,
so each hash is re-sorted O(log n) times).

A row whose hash is new (not in a run, not twice in its block) is a new id for certain. Any other
row is only a candidate: it is decided on the strings themselves, in row order, as
`RecordDuplicates` does. Equal ids always hash alike, so the answer is exact whatever the hash;
a poor hash would only make more candidates.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fraudcli.records.columns import ValidBlock
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import FIELDS, Txn

_PRIME = np.uint64(0x100000001B3)  # FNV-1's 64-bit prime, applied a word (8 bytes) at a time


def id_hashes(ids: pa.Array) -> np.ndarray:
    """uint64 hashes of a string array without nulls, from each string's bytes and length."""
    offsets = np.frombuffer(ids.buffers()[1], np.int32, len(ids) + 1, 4 * ids.offset)
    data = ids.buffers()[2]
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    out = np.empty(len(ids), dtype=np.uint64)
    for length in np.unique(lengths).tolist():  # ids have few lengths (often one)
        rows = np.flatnonzero(lengths == length)
        out[rows] = _hash_equal_length(_bytes_matrix(data, offsets, rows, length), length)
    return out


def _bytes_matrix(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, length: int):
    """The bytes of strings `rows` (all `length` long) as a rows x length matrix."""
    first = int(offsets[rows[0]]) if len(rows) else 0
    if len(rows) == len(offsets) - 1:  # every string: they lie back to back
        return data[first : first + length * len(rows)].reshape(len(rows), length)
    return data[offsets[rows][:, None] + np.arange(length)]


def _hash_equal_length(matrix: np.ndarray, length: int) -> np.ndarray:
    words = -(-length // 8)
    padded = np.zeros((len(matrix), 8 * words), dtype=np.uint8)
    padded[:, :length] = matrix
    h = np.full(len(matrix), np.uint64(length) * _PRIME, dtype=np.uint64)
    for word in padded.view(np.uint64).T:
        h = (h ^ word) * _PRIME
    return h ^ (h >> np.uint64(29))


@dataclass
class _Run:
    hashes: np.ndarray  # sorted
    where: np.ndarray  # the id's place in SeenIds' arrays, counted over all of them


class SeenIds:
    """The ids of a run so far; `first_times(ids)` tells which ids of a block are new."""

    def __init__(self) -> None:
        self._arrays: list[pa.Array] = []
        self._starts: list[int] = [0]
        self._runs: list[_Run] = []

    def first_times(self, ids: pa.Array) -> np.ndarray | None:
        """bool per id: True for the first time an id appears (in the run, then the block), and
        records those; None when every id is a first."""
        ids = _plain(ids)
        hashes = id_hashes(ids)
        order = np.argsort(hashes, kind="stable")
        sorted_hashes = hashes[order]
        doubtful = self._known(sorted_hashes)
        same = sorted_hashes[1:] == sorted_hashes[:-1]
        doubtful[1:] |= same
        doubtful[:-1] |= same
        first = None
        if doubtful.any():
            first = self._decide(ids, hashes, np.sort(order[doubtful]))
            if first.all():
                first = None
        self._record(ids, sorted_hashes, order, first)
        return first

    def _known(self, sorted_hashes: np.ndarray) -> np.ndarray:
        known = np.zeros(len(sorted_hashes), dtype=bool)
        for run in self._runs:
            at = np.minimum(np.searchsorted(run.hashes, sorted_hashes), len(run.hashes) - 1)
            known |= run.hashes[at] == sorted_hashes
        return known

    def _decide(self, ids: pa.Array, hashes: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The doubtful rows, one by one on their strings, in row order."""
        first = np.ones(len(ids), dtype=bool)
        here: set[str] = set()
        texts = ids.take(pa.array(rows, pa.int64())).to_pylist()
        for row, text, h in zip(rows.tolist(), texts, hashes[rows], strict=True):
            if text in here or self._seen(text, h):
                first[row] = False
            else:
                here.add(text)
        return first

    def _seen(self, text: str, h: np.uint64) -> bool:
        for run in self._runs:
            lo = int(np.searchsorted(run.hashes, h, side="left"))
            hi = int(np.searchsorted(run.hashes, h, side="right"))
            if any(self._text(place) == text for place in run.where[lo:hi].tolist()):
                return True
        return False

    def _text(self, place: int) -> str:
        array = bisect_right(self._starts, place) - 1
        return self._arrays[array][place - self._starts[array]].as_py()

    def _record(self, ids, sorted_hashes, order, first: np.ndarray | None) -> None:
        """Keep the block's ids and add the hashes of its firsts as a run."""
        run = _Run(sorted_hashes, self._starts[-1] + order)
        if first is not None:
            kept = first[order]
            run = _Run(run.hashes[kept], run.where[kept])
        self._arrays.append(ids)
        self._starts.append(self._starts[-1] + len(ids))
        if not len(run.hashes):
            return
        while self._runs and len(self._runs[-1].hashes) <= len(run.hashes):
            run = _merged(self._runs.pop(), run)
        self._runs.append(run)


def _merged(a: _Run, b: _Run) -> _Run:
    hashes = np.concatenate([a.hashes, b.hashes])
    order = np.argsort(hashes, kind="stable")
    return _Run(hashes[order], np.concatenate([a.where, b.where])[order])


def _plain(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    return ids if ids.type == pa.string() else ids.cast(pa.string())


class BlockDuplicates:
    """Drops a transaction_id seen before in the run, as a reject (as `RecordDuplicates`)."""

    def __init__(self) -> None:
        self.seen = SeenIds()

    def keep(self, block: ValidBlock) -> tuple[np.ndarray | None, list[Reject]]:
        ids = block.data["transaction_id"]
        keep = self.seen.first_times(ids)
        if keep is None:
            return None, []
        return keep, duplicate_rejects(block, np.flatnonzero(~keep))


def duplicate_rejects(block: ValidBlock, rows: np.ndarray) -> list[Reject]:
    """The rejects of the block's `rows` (indices), each a repeat of an earlier id."""
    ids = block.data["transaction_id"]
    tids = ids.take(pa.array(rows, pa.int64())).to_pylist()
    return [
        Reject(int(block.lines[i]), f"duplicate transaction_id {tid!r}", _raw_row(block, i))
        for i, tid in zip(rows.tolist(), tids, strict=True)
    ]


class RecordDuplicates:
    """Rejects a transaction_id seen before in this run: a replayed or double-submitted
    transaction must not be counted twice (in the state, the output, or the metrics)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def check(self, line: int, raw: str | None, txn: Txn) -> Txn | Reject:
        if txn.transaction_id in self._seen:
            reason = f"duplicate transaction_id {txn.transaction_id!r}"
            return Reject(line, reason, raw if raw is not None else _raw(txn))
        self._seen.add(txn.transaction_id)
        return txn


def _raw(txn: Txn) -> str:
    return json.dumps(txn.fields() | (txn.extras or {}), default=str)


def _raw_row(block: ValidBlock, i: int) -> str:
    """Row `i`'s raw text as the record path gives it: its line, or its fields as JSON."""
    line = int(block.lines[i])
    if block.raw_line is not None:
        return block.raw_line(line)
    fields = {name: block.data[name][i].as_py() for name in FIELD_COLUMNS}
    fields["timestamp"] = fields.pop("ts")
    record = {name: fields[name] for name in FIELDS}
    extra = block.extras.get(i)
    if extra is None:
        extra = {name: column[i].as_py() for name, column in block.passthrough.items()}
    return json.dumps(record | extra, default=str)


FIELD_COLUMNS = tuple(name if name != "timestamp" else "ts" for name in FIELDS)
