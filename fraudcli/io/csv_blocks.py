"""CSV straight into validated columns: the fast twin of `io.blocks.item_blocks(read_batches(...))`
for a CSV file, giving block for block the same records and rejects.

Python's csv module still splits the lines, with the record path's own `io.csv_records.csv_rows`
(quoting, line numbers, bad UTF-8, empty and ragged rows). Then, instead of `validate` row by row, a
block's cells are checked as Arrow string columns by kernels that accept only the common clean form
of each field, read as `validate(obj, lenient=True)` reads it:

- ids: any non-empty text; optional strings: "" is null, any other text is kept;
- amount: digits with an optional fraction ('12', '0.50'), within [0, MAX_AMOUNT];
- lat/lon: the same with an optional '-', within range; "" is null, and one of them null
  makes both null (half a location is no location);
- timestamp: 'YYYY-MM-DD[T ]HH:MM:SS[.f...][Z or +HH:MM]' (`records.iso_columns`; a real
  date, years 2000 to 2099), or epoch seconds or milliseconds written as digits with an
  optional fraction;
- country: two ASCII letters (upper-cased) or ""; is_fraud: '0', '1', 'true', 'false',
  'True', 'False' or "".

Every other row goes through the record path's own `rejects.validated`, which accepts the
other valid forms or says what is wrong, so exactness never rests on the kernels' coverage.
A column mapping (`--map`) renames the columns as `ColumnMap.apply` renames a row's keys.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.io.csv_records import csv_records
from fraudcli.records._arrow import filled
from fraudcli.records.columns import ValidBlock, txn_columns
from fraudcli.records.field_checks import MAX_AMOUNT
from fraudcli.records.iso_columns import iso_seconds
from fraudcli.records.rejects import Reject, validated
from fraudcli.records.schema import FIELDS, ColumnMap, Txn
from fraudcli.records.timestamps import MAX_TS, MIN_TS, MS_CUTOFF

BATCH_ROWS = 8192  # `io.read.read_batches`' default: blocks hold whole batches of it

_FIELD_SET = frozenset(FIELDS)
_TEXT = ("transaction_id", "user_id", "merchant_id", "merchant_category", "country")
_TEXT += ("device_id", "channel")
_UNSIGNED = r"^[0-9]{1,20}(\.[0-9]{1,20})?$"
_SIGNED = r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$"
_LABELS = {"0": 0, "1": 1, "false": 0, "true": 1, "False": 0, "True": 1}


def csv_blocks(
    path: str | Path, columns: ColumnMap, block_rows: int, batch_rows: int = BATCH_ROWS
) -> Iterator[ValidBlock]:
    """The records of a CSV file as blocks, each exactly what `io.blocks.item_blocks` makes of
    `io.read.read_batches(path, columns, batch_rows)` with `BLOCK_ROWS = block_rows`: a block holds
    `block_rows` records rounded up to whole batches (the last block the rest)."""
    size = -(-max(block_rows, 1) // batch_rows) * batch_rows
    rows, header = None, []
    for header, (line, _, cells, reject) in csv_records(path):
        if rows is None:
            rows = _Rows(len(header))
        if reject is None:
            rows.lines.append(line)
            rows.cells += cells
        else:
            rows.rejects.append((len(rows), reject))
        if len(rows) >= size:
            yield _block(rows, header, columns)
            rows = None
    if rows is not None:
        yield _block(rows, header, columns)


@dataclass(slots=True)
class _Rows:
    """A block's rows as split: the rows of full width by line and cells (flat, `width` to a
    row: strings, which the garbage collector need not walk, unlike a list per row), and the
    other rows' rejects with their place among all the rows."""

    width: int
    lines: list[int] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    rejects: list[tuple[int, Reject]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines) + len(self.rejects)

    def row(self, k: int) -> list[str]:
        return self.cells[k * self.width : (k + 1) * self.width]

    def column(self, i: int) -> pa.Array:
        return pa.array(self.cells[i :: self.width], pa.string())


def _block(rows: _Rows, header: list[str], columns: ColumnMap) -> ValidBlock:
    """One block: rows in the clean form as columns, the others through `validated`."""
    # each key of the record path's dict and the cell it takes: a name twice takes its last
    # cell, as dict() does, and a mapped name is renamed as `ColumnMap.apply` renames it
    where = columns.apply({name: i for i, name in enumerate(header)})
    n = len(rows.lines)
    get = {name: rows.column(i) for name, i in where.items() if name in _FIELD_SET}
    ok = _clean(get, n)
    checked = {}
    for k in np.flatnonzero(~ok).tolist():
        row = rows.row(k)
        obj = columns.apply(dict(zip(header, row, strict=True)))
        checked[k] = validated(obj, rows.lines[k], ",".join(row), lenient=True)
    data = _columns(get, ok) if ok.any() else txn_columns([])
    block = _merged(rows, ok, data, checked)
    # columns outside the schema: every row has them (its extras), so they go along as columns;
    # a row validated one by one lists its own extras, which its output takes
    names = [name for name in where if name not in _FIELD_SET]
    if names:
        valid = ok.copy()
        valid[[k for k, item in checked.items() if isinstance(item, Txn)]] = True
        keep = pa.array(valid)
        block.passthrough = {name: rows.column(where[name]).filter(keep) for name in names}
    else:
        block.extras = {i: extras for i, extras in block.extras.items() if extras}
    return block


def _matches(array: pa.Array, pattern: str) -> np.ndarray:
    return filled(pc.match_substring_regex(array, pattern), False)


def _numbers(array: pa.Array, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Where `array` matches `pattern` (plain decimal text), and its values there (NaN
    elsewhere). Arrow's text-to-float is correctly rounded, as Python's `float` is."""
    match = _matches(array, pattern)
    values = pc.if_else(pa.array(match), array, "nan").cast(pa.float64())
    return match, filled(values, np.nan)


def _clean(get: dict[str, pa.Array], n: int) -> np.ndarray:
    """True where a row is in the clean form the kernels read exactly as `validate` does."""
    if not {"transaction_id", "user_id", "amount", "timestamp"} <= set(get):
        return np.zeros(n, dtype=bool)
    ok = filled(pc.binary_length(get["transaction_id"]), 0) > 0
    ok &= filled(pc.binary_length(get["user_id"]), 0) > 0
    match, amount = _numbers(get["amount"], _UNSIGNED)
    ok &= match & (amount <= MAX_AMOUNT)
    ts, _ = stamp_seconds(get["timestamp"])
    ok &= (ts >= MIN_TS) & (ts < MAX_TS)  # NaN (another form) is neither
    if "country" in get:
        ok &= _matches(get["country"], "^([A-Za-z]{2})?$")
    if "is_fraud" in get:
        ok &= pc.is_in(get["is_fraud"], pa.array(["", *_LABELS])).to_numpy(zero_copy_only=False)
    for name, limit in (("lat", 90.0), ("lon", 180.0)):
        if name in get:
            match, value = _numbers(get[name], _SIGNED)
            with np.errstate(invalid="ignore"):
                ok &= (match & (np.abs(value) <= limit)) | _empty(get[name])
    return ok


def _empty(array: pa.Array) -> np.ndarray:
    return filled(pc.binary_length(array), 0) == 0


def _columns(get: dict[str, pa.Array], ok: np.ndarray) -> dict[str, pa.Array]:
    """`ValidBlock.data` of the clean rows (`ok`)."""
    keep = pa.array(ok)
    n = int(np.count_nonzero(ok))
    got = {name: array.filter(keep) for name, array in get.items()}
    out = {name: _text(got.get(name), n) for name in _TEXT}
    if got.get("country") is not None:
        out["country"] = pc.utf8_upper(out["country"])
    out["amount"] = got["amount"].cast(pa.float64())
    lat, lon = (_coordinate(got.get(name), n) for name in ("lat", "lon"))
    half = pa.array(lat.is_null().to_numpy(zero_copy_only=False) | filled(lon.is_null(), True))
    out["lat"] = pc.if_else(half, pa.scalar(None, pa.float64()), lat)
    out["lon"] = pc.if_else(half, pa.scalar(None, pa.float64()), lon)
    out["is_fraud"] = _label(got.get("is_fraud"), n)
    ts, canonical = stamp_seconds(got["timestamp"])
    out["ts"] = pa.array(ts, pa.float64())
    out["ts_text"] = pc.if_else(pa.array(canonical), got["timestamp"], pa.scalar(None, pa.string()))
    return out


def _text(array: pa.Array | None, n: int) -> pa.Array:
    """Optional text as `validate` keeps it: "" is null (ids are never "" here)."""
    if array is None:
        return pa.nulls(n, pa.string())
    return pc.if_else(pa.array(_empty(array)), pa.scalar(None, pa.string()), array)


def _coordinate(array: pa.Array | None, n: int) -> pa.Array:
    if array is None:
        return pa.nulls(n, pa.float64())
    return _text(array, n).cast(pa.float64())


def _label(array: pa.Array | None, n: int) -> pa.Array:
    if array is None:
        return pa.nulls(n, pa.int8())
    keys = pa.array(list(_LABELS))
    codes = pa.array(list(_LABELS.values()), pa.int8())
    return codes.take(pc.index_in(array, keys))  # "" is in no key: null


def _merged(rows: _Rows, ok: np.ndarray, data, checked: dict) -> ValidBlock:
    """The clean rows (`ok`: columns `data`) and the others (`checked`: row -> Txn or Reject)
    in the rows' order, as `records.columns.block_of_items` gathers them; the rows validated one by
    one list their own extras."""
    slow = [k for k, item in checked.items() if isinstance(item, Txn)]
    placed = np.ones(len(rows), dtype=bool)
    placed[[at for at, _ in rows.rejects]] = False
    place = np.flatnonzero(placed)  # each row of full width's place among all rows
    rejects = rows.rejects + [(place[k], r) for k, r in checked.items() if isinstance(r, Reject)]
    rejects.sort(key=lambda pair: pair[0])
    fast = np.flatnonzero(ok)
    if slow:
        others = txn_columns([checked[k] for k in slow])
        at = np.concatenate((fast, np.array(slow, dtype=np.int64)))
        take = pa.array(np.argsort(at, kind="stable"))
        data = {name: pa.concat_arrays([data[name], others[name]]).take(take) for name in data}
    valid = ok.copy()
    valid[slow] = True
    order = np.flatnonzero(valid)
    lines = np.array(rows.lines, dtype=np.int64)[order]
    rank = np.empty(len(rows.lines), dtype=np.int64)
    rank[order] = np.arange(len(order))
    out_extras = {int(rank[k]): checked[k].extras or {} for k in slow}
    block = ValidBlock(len(rows), lines, data, out_extras, [r for _, r in rejects])
    block.raw_line = lambda line: ",".join(rows.row(bisect_left(rows.lines, line)))
    return block


def stamp_seconds(stamps: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of timestamp text as `parse_timestamp(text, lenient=True)` reads it, for
    'YYYY-MM-DD[T ]HH:MM:SS[.fff][Z]' and plain decimal epoch text (NaN for any other form),
    and where the text is the canonical 'YYYY-MM-DDTHH:MM:SSZ' (`Txn.ts_text`)."""
    ts, canonical = iso_seconds(stamps)
    match, number = _numbers(stamps, _UNSIGNED)
    number = np.where(np.abs(number) > MS_CUTOFF, number / 1000.0, number)
    return np.where(match, number, ts), canonical & ~match
