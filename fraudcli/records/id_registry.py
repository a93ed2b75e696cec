"""The transaction ids a state has accepted: which new record is a duplicate, and where a
label's transaction is (its time, merchant and label).

The rule, the same within a run and across runs, on every path: a record is a duplicate iff
an earlier accepted record (input order) has the same transaction_id and a timestamp
> N - W, where N is the newest timestamp among the records accepted before it and W the
window (`StoreConfig.id_window`: the merchant horizon unless `[features] dedupe_window_days`
says otherwise). An entry with ts <= N - W can never match again (N only grows), so it may be
dropped at any time without changing an answer: `table()` drops those.

Kept as columns, not as a Python object per id: segments of Arrow/NumPy arrays in acceptance
order, and the 64-bit hashes of their ids (`fraudcli.records.id_hash`) in sorted runs merged as
in a log-structured merge. For ids asked one at a time (`admit`, the record path) a bit filter of
Python's own hash of each id (`fraudcli.records.id_filter`, made when first needed) answers
"certainly new" for most at the cost of a set lookup. Records accepted one at a time wait in an
open segment of Python tuples until `_OPEN_MAX` of them (or a snapshot) close it. A state read
back is hashed only when first needed: a short run (one record piped in) compares its few ids
with the stored ones in Arrow, a fraction of a millisecond each, where hashing them all costs
tens of milliseconds of every start.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fraudcli.records.arrow_numpy import arrow_array, arrow_list, numbers, text_scalar
from fraudcli.records.id_filter import HashFilter
from fraudcli.records.id_hash import id_hash, id_hashes
from fraudcli.records.kernels import cast, kernel

# ids accepted one by one before their segment is closed into columns: each close stops the
# record path for a moment (a few ms at 2,048 here, 50-110 ms at 65,536: replay at 10,000/s
# for 30 s, p99 2.2 ms against 45 ms)
_OPEN_MAX = 1 << 11
# ids accepted one by one before the filter is made (a Python string per stored id, once): a
# short run (one record piped in) looks its few ids up in the hash runs instead
_FILTER_AFTER = 1 << 12
# runs the record path merges stop at this size (a merge of two holds it for 1-2 ms, where
# merging runs of half a million held replay for 20-70 ms); a block's run merges them all
_MERGED_MAX = 1 << 16
_FILTER_ROOM = 1 << 21
# ids asked one at a time that are compared with an unhashed state's ids before it is hashed
_SCANS_MAX = 32
NO_LABEL = -1


@dataclass
class _Segment:
    ids: pa.Array  # string, no nulls
    ts: np.ndarray  # float64
    merchant: pa.Array  # string, nullable
    label: np.ndarray  # int8: 0, 1 or NO_LABEL; labels given later are written in place


@dataclass
class _Run:
    hashes: np.ndarray  # sorted
    where: np.ndarray  # each one's position in the registry's log


class IdRegistry:
    """`admit(...)` a record (False: a duplicate); `admit_block(...)` a block of them;
    `find`, `entry`, `set_label` for labels; `table()` / `from_table()` for the state."""

    def __init__(self, window: float = math.inf, newest: float = -math.inf) -> None:
        self.window, self.newest = window, newest
        self._segments: list[_Segment] = []
        self._starts: list[int] = [0]  # log position of each segment's first entry
        self._runs: list[_Run] = []
        self._unhashed: list[int] = []  # segments (indexes) that have no run yet
        self._scans = 0
        self._filter: HashFilter | None = None  # made after `_FILTER_AFTER` single questions
        self._asked = 0
        self._open: dict[str, int] = {}  # id -> log position, for the open segment
        self._arrivals: dict[int, float] = {}  # log position -> arrival of a later label
        self._open_rows: list[tuple] = []  # (id, ts, merchant, label) of those

    def __len__(self) -> int:
        return self._starts[-1] + len(self._open_rows)

    # --- one record at a time (the record path) ---------------------------------------------

    def admit(self, tid: str, ts: float, merchant: str | None, label: int | None) -> bool:
        """Accept the record unless it is a duplicate (then nothing changes). Most ids are new,
        and the filter says so at once; the rest are looked up."""
        known = self._filter
        if known is None:
            self._asked += 1
            if self._asked >= _FILTER_AFTER:
                known = self._filled()
        if known is None or known.test_and_set(hash(tid)):  # perhaps seen before
            position = self._open.get(tid)
            if position is None:
                position = self._latest(tid, id_hash(tid))
            if position >= 0 and self._ts(position) > self.newest - self.window:
                return False  # an earlier accepted record with this id, within the window
        rows = self._open_rows
        self._open[tid] = self._starts[-1] + len(rows)
        rows.append((tid, ts, merchant, NO_LABEL if label is None else label))
        if ts > self.newest:
            self.newest = ts
        if len(rows) >= _OPEN_MAX:
            self._close_open()
        elif known is not None and known.count > known.capacity:
            self._filled()
        return True

    def warm(self) -> None:
        """Make the filter now (ids asked one at a time use it), not after `_FILTER_AFTER`."""
        if self._filter is None:
            self._filled()

    def _latest(self, tid: str, h: int) -> int:
        """The log position of the newest entry with this id among the closed segments, -1."""
        best, key = -1, np.uint64(h)
        for run in self._runs:
            lo = int(run.hashes.searchsorted(key, "left"))
            if lo == len(run.hashes) or run.hashes[lo] != key:
                continue
            hi = int(run.hashes.searchsorted(key, "right"))
            for place in run.where[lo:hi].tolist():
                if place > best and self._id(place) == tid:
                    best = place
        if self._unhashed:
            self._scans += 1
            if self._scans > _SCANS_MAX:
                self._hash_all()
                return self._latest(tid, h)
            text = text_scalar(tid)
            for index in self._unhashed:
                same = kernel("equal", self._segments[index].ids, text)
                found = kernel("indices_nonzero", same)
                if len(found):
                    best = max(best, self._starts[index] + found[-1].as_py())
        return best

    # --- a block at a time (the column path) -------------------------------------------------

    def admit_block(
        self, ids: pa.Array, ts: np.ndarray, merchant: pa.Array | None, label: np.ndarray | None
    ) -> np.ndarray | None:
        """Accept the block's records in row order; the mask of those kept (None: all)."""
        self._close_open()
        self._hash_all()
        ids = plain_ids(ids)
        hashes = id_hashes(ids)
        order = np.argsort(hashes, kind="stable")
        doubtful = self._doubtful(hashes[order], order, ts)
        keep = self._decide(ids, hashes, ts, doubtful) if doubtful.any() else None
        rows = slice(None) if keep is None else keep
        n = len(ids)
        merchant = pa.nulls(n, pa.string()) if merchant is None else plain_ids(merchant)
        label = np.full(n, NO_LABEL, np.int8) if label is None else label
        if keep is not None:  # the kept rows' places in the sorted order, renumbered
            order = (np.cumsum(keep) - 1)[order[keep[order]]]
        segment = _Segment(
            ids if keep is None else ids.filter(keep),
            np.ascontiguousarray(ts[rows], dtype=np.float64),
            merchant if keep is None else merchant.filter(keep),
            np.asarray(label[rows], dtype=np.int8),
        )
        self._add_segment(segment, hashes[rows], order)
        return keep

    def _doubtful(self, sorted_hashes: np.ndarray, order: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Rows whose hash is twice in the block, or in the registry for an entry that could
        still match: the only ones that can repeat an id. Every other row is certainly new.
        (`order` sorts the block's hashes; `ts` in row order.) An id of long ago seen again,
        its one entry older than the window before the row, is certainly new too."""
        n = len(sorted_hashes)
        same = np.zeros(n, dtype=bool)
        twice = sorted_hashes[1:] == sorted_hashes[:-1]
        same[1:] |= twice
        same[:-1] |= twice
        count, place = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        for run in self._runs:
            lo = np.searchsorted(run.hashes, sorted_hashes, side="left")
            hi = np.searchsorted(run.hashes, sorted_hashes, side="right")
            count += hi - lo
            one = np.flatnonzero(hi - lo == 1)
            place[one] = run.where[lo[one]]
        doubtful = np.zeros(n, dtype=bool)
        doubtful[order] = same | (count > 0)
        lone = np.flatnonzero(~same & (count == 1))  # (sorted places)
        if len(lone) and math.isfinite(self.window):
            # N before each row is at least the newest of the rows certainly accepted before it
            certain = np.where(doubtful, -np.inf, ts)
            before = np.concatenate(([-np.inf], np.maximum.accumulate(certain)[:-1]))
            log_ts = np.concatenate([segment.ts for segment in self._segments])
            rows = order[lone]
            floor = np.maximum(before[rows], self.newest) - self.window
            doubtful[rows[log_ts[place[lone]] <= floor]] = False
        return doubtful

    def _decide(self, ids, hashes, ts, doubtful) -> np.ndarray:
        """The doubtful rows, one by one on their strings, in row order, each against N: the
        newest timestamp among the rows accepted before it (and the registry's)."""
        keep = np.ones(len(ids), dtype=bool)
        certain_ts = np.where(doubtful, -np.inf, ts)
        before = np.concatenate(([-np.inf], np.maximum.accumulate(certain_ts)[:-1]))
        rows = np.flatnonzero(doubtful)
        texts = ids.take(arrow_array(rows.astype(np.int64))).to_pylist()
        here: dict[str, float] = {}  # id -> ts of its accepted doubtful row in this block
        newest = self.newest
        columns = (rows.tolist(), texts, hashes[rows].tolist(), ts[rows].tolist())
        for row, text, h, t in zip(*columns, strict=True):
            prior = here.get(text)
            if prior is None:
                place = self._latest(text, h)
                prior = self._ts(place) if place >= 0 else None
            bound = max(newest, float(before[row])) - self.window
            if prior is not None and prior > bound:
                keep[row] = False
                continue
            here[text] = t
            newest = max(newest, t)
        return keep

    # --- labels -------------------------------------------------------------------------------

    def find(self, tids: list[str]) -> np.ndarray:
        """The log position of the newest entry of each id, -1 when there is none."""
        self._close_open()
        self._hash_all()
        out = np.full(len(tids), -1, dtype=np.int64)
        if not tids:
            return out
        hashes = id_hashes(arrow_list(tids, pa.string()))
        for run in self._runs:
            lo = np.searchsorted(run.hashes, hashes, side="left")
            hi = np.searchsorted(run.hashes, hashes, side="right")
            for i in np.flatnonzero(lo < hi).tolist():
                for place in run.where[lo[i] : hi[i]].tolist():
                    if place > out[i] and self._id(place) == tids[i]:
                        out[i] = place
        return out

    def entry(self, position: int) -> tuple[float, str | None, int | None, float | None]:
        """(ts, merchant_id, label, label_arrival) of the entry at a log position (`find`):
        its label as it is now and, for one given after the fact, when that arrived."""
        segment, offset = self._where(position)
        label = int(segment.label[offset])
        return (
            float(segment.ts[offset]),
            segment.merchant[offset].as_py(),
            (None if label == NO_LABEL else label),
            self._arrivals.get(position),
        )

    def live(self, ts: float) -> bool:
        """Whether an entry of this time can still match (ts > N - W)."""
        return ts > self.newest - self.window

    def set_label(self, position: int, label: int, arrival: float) -> None:
        segment, offset = self._where(position)
        segment.label[offset] = label
        self._arrivals[position] = arrival

    # --- the state ----------------------------------------------------------------------------

    def version(self) -> tuple[int, float]:
        """What `table(version)` needs to give the registry as it is now, later on (the
        column path checkpoints what was written while later blocks are admitted)."""
        self._close_open()
        return len(self._segments), self.newest

    def table(self, version: tuple[int, float] | None = None) -> pa.Table:
        """The entries that can still match, in acceptance order (columns of `TABLE_SCHEMA`)."""
        count, newest = version if version is not None else self.version()
        segments = self._segments[:count]
        ts = np.concatenate([s.ts for s in segments]) if segments else np.empty(0)
        live = ts > newest - self.window
        label = np.concatenate([s.label for s in segments]) if segments else np.empty(0, np.int8)
        arrival = np.full(len(ts), np.nan)
        for position, when in self._arrivals.items():
            if position < len(ts):
                arrival[position] = when
        table = pa.table(
            {
                "transaction_id": _joined([s.ids for s in segments]),
                "ts": arrow_array(ts.astype(np.float64)),
                "merchant_id": _joined([s.merchant for s in segments]),
                "is_fraud": arrow_array(label.astype(np.int8), label == NO_LABEL),
                "label_arrival": arrow_array(arrival, np.isnan(arrival)),
            },
            schema=TABLE_SCHEMA,
        )
        return table if live.all() else kernel("take", table, arrow_array(np.flatnonzero(live)))

    @classmethod
    def from_table(cls, table: pa.Table | None, window: float, newest: float) -> IdRegistry:
        registry = cls(window, newest)
        if table is None or not table.num_rows:
            return registry
        ids = plain_ids(table["transaction_id"])
        segment = _Segment(
            ids,
            numbers(table["ts"]).astype(np.float64),
            cast(table["merchant_id"].combine_chunks(), pa.string()),
            numbers(cast(table["is_fraud"], pa.int8()), NO_LABEL).astype(np.int8),
        )
        registry._add_segment(segment, None)  # hashed when first needed
        if "label_arrival" in table.column_names:
            arrival = numbers(cast(table["label_arrival"], pa.float64()))
            given = np.flatnonzero(~np.isnan(arrival))
            registry._arrivals = dict(zip(given.tolist(), arrival[given].tolist(), strict=True))
        return registry

    def fork(self) -> IdRegistry:
        """A registry that starts as this one and changes on its own (labels excepted)."""
        self._close_open()
        other = IdRegistry(self.window, self.newest)
        other._segments, other._starts = list(self._segments), list(self._starts)
        other._runs, other._unhashed = list(self._runs), list(self._unhashed)
        other._filter = None if self._filter is None else self._filter.copy()
        other._arrivals = dict(self._arrivals)
        return other

    # --- inside -------------------------------------------------------------------------------

    def _add_segment(
        self,
        segment: _Segment,
        hashes: np.ndarray | None,
        order: np.ndarray | None = None,
        filtered: bool = False,
    ) -> None:
        """Append `segment`, its `hashes` as a run (`order`: their sorting, when known; no
        hashes: made when first needed, `_hash_all`)."""
        first = self._starts[-1]
        self._segments.append(segment)
        self._starts.append(first + len(segment.ts))
        if len(segment.ts):
            self.newest = max(self.newest, float(segment.ts.max()))
        if hashes is None:
            self._unhashed.append(len(self._segments) - 1)
            return
        self._add_run(first, hashes, order, filtered)
        if self._filter is not None and not filtered:  # (ids admitted one by one: already in)
            ids = segment.ids.to_pylist()
            self._filter.add_many(np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids)))
            if self._filter.count > self._filter.capacity:
                self._filled()

    def _add_run(
        self, first: int, hashes: np.ndarray, order: np.ndarray | None, filtered: bool
    ) -> None:
        if not len(hashes):
            return
        if order is None:
            order = np.argsort(hashes, kind="stable")
        run = _Run(hashes[order], first + order)
        cap = _MERGED_MAX if filtered else math.inf  # (filtered: ids asked one at a time)
        while self._runs and len(self._runs[-1].hashes) <= len(run.hashes):
            if len(self._runs[-1].hashes) + len(run.hashes) > cap:
                break
            run = _merged(self._runs.pop(), run)
        self._runs.append(run)

    def _hash_all(self) -> None:
        """Give the segments read from a state their runs (see the module's docstring)."""
        for index in self._unhashed:
            self._add_run(self._starts[index], id_hashes(self._segments[index].ids), None, False)
        self._unhashed = []

    def _filled(self) -> HashFilter:
        """The filter of every id, made (or made larger) now: blocks never need it, one id at a
        time does (`admit`); it costs a Python string per id, once."""
        ids = [tid for segment in self._segments for tid in segment.ids.to_pylist()]
        ids += [row[0] for row in self._open_rows]
        # room for twice as many, and for 2M at least (4 MB): remaking it costs a Python string
        # per id, a stop of the record path, so it should be rare
        self._filter = HashFilter.of(ids, max(2 * len(ids), _FILTER_ROOM))
        return self._filter

    def _close_open(self) -> None:
        if not self._open_rows:
            return
        ids, ts, merchants, labels = zip(*self._open_rows, strict=True)
        segment = _Segment(
            arrow_list(list(ids), pa.string()),
            np.array(ts, dtype=np.float64),
            arrow_list(list(merchants), pa.string()),
            np.array(labels, dtype=np.int8),
        )
        self._open, self._open_rows = {}, []
        self._add_segment(segment, id_hashes(segment.ids), filtered=True)

    def _where(self, position: int) -> tuple[_Segment, int]:
        self._close_open()
        index = bisect_right(self._starts, position) - 1
        return self._segments[index], position - self._starts[index]

    def _ts(self, position: int) -> float:
        first = self._starts[-1]
        if position >= first:
            return self._open_rows[position - first][1]
        index = bisect_right(self._starts, position) - 1
        return float(self._segments[index].ts[position - self._starts[index]])

    def _id(self, position: int) -> str:
        index = bisect_right(self._starts, position) - 1
        return self._segments[index].ids[position - self._starts[index]].as_py()


TABLE_SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("ts", pa.float64()),
        ("merchant_id", pa.string()),
        ("is_fraud", pa.int8()),
        ("label_arrival", pa.float64()),
    ]
)


def _merged(a: _Run, b: _Run) -> _Run:
    """Two sorted runs as one, `a`'s entries first among equal hashes (a stable sort of a + b,
    made as a merge: each of `b`'s entries finds its place in `a`, O(n) copying)."""
    n = len(a.hashes) + len(b.hashes)
    at = np.searchsorted(a.hashes, b.hashes, side="right") + np.arange(len(b.hashes))
    hashes, where = np.empty(n, a.hashes.dtype), np.empty(n, a.where.dtype)
    hashes[at], where[at] = b.hashes, b.where
    rest = np.ones(n, dtype=bool)
    rest[at] = False
    hashes[rest], where[rest] = a.hashes, a.where
    return _Run(hashes, where)


def _joined(arrays: list[pa.Array]) -> pa.Array:
    if not arrays:
        return arrow_list([], pa.string())
    return pa.concat_arrays([cast(a, pa.string()) for a in arrays])


def plain_ids(ids: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A string array of ids in one chunk (integers read from Parquet become their text);
    nulls stay nulls."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    return cast(ids, pa.string())
