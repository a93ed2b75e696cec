"""JSONL straight into validated columns with Arrow's JSON reader: the fast twin of
`io.jsonl.jsonl_batches`, giving line for line the same records and rejects.

Arrow parses a block of lines in C++ on both cores; the rest is column kernels. (`fraud score`
reads the next block while it scores one: `scoring.decided.read_ahead`.) A line is left
to the record path's own `io.jsonl.parse_jsonl_line` whenever Arrow might read it differently from
`json.loads`, so exactness never rests on Arrow's corner cases:

- before parsing: a line that does not start with '{' or holds a second '{' (blank lines, other
  JSON values, nesting, two objects), a backslash (escapes) or a '[' (arrays), bytes that are
  not valid UTF-8, or over MAX_LINE_BYTES;
- while parsing: a line Arrow refuses (malformed, a key outside the schema, a value of another
  JSON type, a key twice). Arrow names the row in most refusals; the others are found by halving
  (`fraudcli.io._arrow_json`);
- after parsing: a row the kernels below do not accept in `_validate_fast`'s clean form, or where
  Arrow's float may hide how the number was written (an amount of 0, whole-number coordinates).

What is left is fields Arrow and `json.loads` read alike: plain strings, and numbers that are
floats for `validate` whichever way they were written. `is_fraud` is read as a float: 1 and 1.0
both validate to 1 (and `true` is refused by Arrow, so it goes to the record path).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.io._arrow_json import TEXT, parse_text
from fraudcli.io._jsonl_extras import keys_outside
from fraudcli.io.jsonl import parse_jsonl_line
from fraudcli.io.lines import MAX_LINE_BYTES, reader_of
from fraudcli.records._arrow import filled
from fraudcli.records.columns import ValidBlock, txn_columns
from fraudcli.records.field_checks import MAX_AMOUNT
from fraudcli.records.iso_columns import iso_text_seconds, timestamps
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import ColumnMap, Txn
from fraudcli.records.timestamps import MAX_TS, MIN_TS

READ_BYTES = 1 << 27  # about 500k simulated lines: one block of the column path


def jsonl_blocks(
    stream: BinaryIO, columns: ColumnMap, read_bytes: int | None = None
) -> Iterator[ValidBlock]:
    """The valid records of a JSONL byte stream, a block per `read_bytes` of input."""
    if columns.mapping:  # renamed keys: the record path applies the mapping line by line
        raise ValueError("jsonl_blocks reads the schema's own keys; map columns line by line")
    first = 1
    for body, continued in _bodies(stream, read_bytes or READ_BYTES):
        yield _block(body, continued, first, columns)
        first += body.count(b"\n") + (not body.endswith(b"\n"))


def lines_block(lines: list[bytes], first: int, columns: ColumnMap) -> ValidBlock:
    """The valid records of whole `lines` (each at most MAX_LINE_BYTES, no newline), numbered
    from `first`: what `jsonl_blocks` makes of them, for lines that arrived together on a pipe."""
    return _block(b"\n".join(lines) + b"\n", False, first, columns)


def _bodies(stream: BinaryIO, read_bytes: int) -> Iterator[tuple[bytes, bool]]:
    """Complete lines as `io.lines.line_chunks` cuts them. The flag marks a body whose first line
    ends a line already known to be longer than MAX_LINE_BYTES."""
    read = reader_of(stream)
    tail, oversized = b"", False
    while data := read(read_bytes):
        data = tail + data if tail else data
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut], oversized
            oversized = False
        tail = data[cut:]
        if len(tail) > MAX_LINE_BYTES:
            tail, oversized = b"", True
    if tail or oversized:
        yield tail, oversized


def _block(body: bytes, continued: bool, first: int, columns: ColumnMap) -> ValidBlock:
    """One body's lines, numbered from `first`: clean rows as columns, the others line by line."""
    arr = np.frombuffer(body, np.uint8)
    ends = np.flatnonzero(arr == 10)
    if not body.endswith(b"\n"):
        ends = np.append(ends, len(body))
    starts = np.concatenate(([0], ends[:-1] + 1))
    oversized = ends - starts > MAX_LINE_BYTES
    oversized[0] |= continued
    plain = _plain(body, arr, starts, ends, oversized)
    sizes = np.minimum(ends + 1, len(body)) - starts  # each line with its newline
    plain_text = body if plain.all() else arr[np.repeat(plain, sizes)].tobytes()
    text = pa.py_buffer(plain_text)
    offsets = np.concatenate(([0], np.cumsum(sizes[plain])))  # the plain lines' in `text`
    table, held, extras = parse_text(text, offsets, epoch=_epoch_stamps(body))
    clean = np.zeros(len(starts), dtype=bool)
    data: dict[str, pa.Array] = {}
    carried: dict[str, pa.Array] = {}
    own: dict[int, dict] = {}
    if table is not None:
        get = {name: table.column(name).combine_chunks() for name in table.column_names}
        ts, canonical = stamp_seconds(get["timestamp"])
        ok = _clean(get, ts)
        parsed = np.flatnonzero(plain)[held]
        if extras:
            every = plain_text if len(parsed) == len(offsets) - 1 else None  # all plain lines
            carried, own = keys_outside(body, starts, ends, parsed, get, extras, ok, every)
        data = _columns(get, ts, canonical, ok)
        clean[parsed[ok]] = True
    other = np.flatnonzero(~clean)
    items = [
        parse_jsonl_line(None if oversized[i] else body[starts[i] : ends[i]], first + i, columns)
        for i in other.tolist()
    ]
    block = _merged(len(starts), np.flatnonzero(clean) + first, data, carried, own, items)
    block.raw_line = _line_text(body, starts, ends, first)
    return block


def _line_text(body: bytes, starts: np.ndarray, ends: np.ndarray, first: int):
    """Line number -> its text, as the record path keeps it in a reject."""

    def text(line: int) -> str:
        i = line - first
        return body[starts[i] : ends[i]].decode("utf-8").rstrip("\r")

    return text


def _epoch_stamps(body: bytes) -> bool:
    """Whether the block's first timestamp is a number (epoch seconds or milliseconds, as
    Kafka Connect writes them) rather than text: the type Arrow is told to read."""
    at = body.find(b'"timestamp":')
    if at < 0:
        return False
    value = body[at + 12 : at + 40].lstrip(b" \t")
    return bool(value) and value[0] in b"-0123456789"


def stamp_seconds(stamps: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of a block's timestamps as `parse_timestamp` reads them, within
    [MIN_TS, MAX_TS) (NaN elsewhere and for forms left to the record path), and where they are
    the canonical 'YYYY-MM-DDTHH:MM:SSZ' text."""
    if pa.types.is_floating(stamps.type):
        ts, canonical = timestamps(stamps), np.zeros(len(stamps), dtype=bool)
    else:
        ts, canonical = iso_text_seconds(stamps)
    with np.errstate(invalid="ignore"):
        inside = (ts >= MIN_TS) & (ts < MAX_TS)
    return np.where(inside, ts, np.nan), canonical & inside


def _plain(body: bytes, arr: np.ndarray, starts, ends, oversized) -> np.ndarray:
    """Lines Arrow may read: '{' first and nowhere else, no backslash or '[', valid UTF-8."""
    if not len(arr):
        return np.zeros(len(starts), dtype=bool)
    plain = ~oversized & (arr[np.minimum(starts, len(arr) - 1)] == 123) & (ends > starts)
    suspects = []
    if body.count(b"{") != np.count_nonzero(plain):
        braces = np.flatnonzero(arr == 123)
        suspects.append(braces[~np.isin(braces, starts)])
    for byte in b"\\[":  # escapes; arrays (deep nesting would overflow Arrow's parser)
        if body.find(byte) >= 0:
            suspects.append(np.flatnonzero(arr == byte))
    if not body.isascii() and not _is_utf8(body):
        lines = np.unique(np.searchsorted(ends, np.flatnonzero(arr >= 128)))
        bad = [i for i in lines.tolist() if not _is_utf8(body[starts[i] : ends[i]])]
        plain[np.array(bad, dtype=np.int64)] = False
    for positions in suspects:
        plain[np.searchsorted(ends, positions)] = False
    return plain


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _columns(get: dict[str, pa.Array], ts, canonical, ok: np.ndarray) -> dict[str, pa.Array]:
    """`ValidBlock.data` of the parsed rows where `ok`; `ts_text` is the text where it is
    canonical (as `validate` keeps it), else null."""
    keep = pa.array(ok)
    out = {name: get[name].filter(keep) for name in (*TEXT, "amount", "lat", "lon")}
    out["is_fraud"] = get["is_fraud"].filter(keep).cast(pa.int8())  # 0.0 and 1.0 only
    out["ts"] = pa.array(ts[ok], pa.float64())
    kept = canonical[ok]
    if kept.all() and pa.types.is_string(get["timestamp"].type):
        out["ts_text"] = get["timestamp"].filter(keep)
    else:  # epoch numbers, or text in another form: the output writes `ts` as text
        none = pa.nulls(len(kept), pa.string())
        stamps = get["timestamp"].filter(keep)
        out["ts_text"] = pc.if_else(pa.array(kept), stamps, none) if kept.any() else none
    return out


def _clean(get: dict[str, pa.Array], ts: np.ndarray) -> np.ndarray:
    """True where `validate` accepts the row and takes the values Arrow read; `ts` is the
    rows' `stamp_seconds`."""
    ok = filled(pc.binary_length(get["transaction_id"]), 0) > 0
    ok &= filled(pc.binary_length(get["user_id"]), 0) > 0
    for name in ("merchant_id", "merchant_category", "device_id", "channel"):
        ok &= filled(pc.binary_length(get[name]), 1) > 0  # absent is fine, "" is not
    ok &= filled(pc.match_substring_regex(get["country"], "^[A-Z]{2}$"), True)
    amount = filled(get["amount"], np.nan)
    ok &= (amount > 0.0) & (amount <= MAX_AMOUNT)  # not 0: Arrow reads `-0` as -0.0
    ok &= ~np.isnan(ts)
    label = filled(get["is_fraud"], 0.0)
    ok &= (label == 0.0) | (label == 1.0)
    lat, lon = filled(get["lat"], np.nan), filled(get["lon"], np.nan)
    absent = filled(pc.is_null(get["lat"]), True) & filled(pc.is_null(get["lon"]), True)
    with np.errstate(invalid="ignore"):
        inside = (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
        # an int becomes the float Arrow reads, but for `-0`: json.loads' 0 is validated to 0.0
        nonzero = (lat != 0.0) & (lon != 0.0)
    return ok & (absent | (inside & nonzero))


def _merged(n_read: int, lines: np.ndarray, data, carried, own, items) -> ValidBlock:
    """One block from the clean rows (`lines`, `data`, `carried` keys outside the schema,
    `own` extras of some of them by row) and the record path's `items`, in line order. With
    carried keys, each record of the record path lists its own extras (maybe none), which its
    output takes instead of the carried."""
    txns = [(line, item) for line, _, item in items if isinstance(item, Txn)]
    rejects = [item for _, _, item in items if isinstance(item, Reject)]
    if not txns:  # (no clean rows either: no columns yet)
        return ValidBlock(n_read, lines, data or txn_columns([]), own, rejects, carried)
    others = txn_columns([txn for _, txn in txns])
    if data:
        data = {name: pa.chunked_array([data[name], others[name]]) for name in others}
    else:
        data = others
    carried = {
        name: pa.chunked_array([values, pa.nulls(len(txns), values.type)])
        for name, values in carried.items()
    }
    lines = np.concatenate((lines, np.array([line for line, _ in txns], dtype=np.int64)))
    order = np.argsort(lines, kind="stable")
    where = np.empty_like(order)
    where[order] = np.arange(len(order))
    base = len(lines) - len(txns)
    extras = {int(where[i]): values for i, values in own.items()}
    extras |= {
        int(where[base + j]): txn.extras or {}
        for j, (_, txn) in enumerate(txns)
        if txn.extras is not None or carried
    }
    take = pa.array(order)
    data = {name: _one(column.take(take)) for name, column in data.items()}
    carried = {name: _one(column.take(take)) for name, column in carried.items()}
    return ValidBlock(n_read, lines[order], data, extras, rejects, carried)


def _one(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
