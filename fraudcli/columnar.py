"""Validation of a whole Arrow batch at once (Parquet input).

Clean rows are checked with Arrow/NumPy kernels and become `Txn`s directly; any row that fails
a check goes through the one-record `validate`, which accepts the forms the kernels do not
handle or says exactly what is wrong. Both paths accept the same rows (see the tests).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.blocks import ValidBlock
from fraudcli.field_values import MS_CUTOFF
from fraudcli.iso_stamps import canonical_seconds
from fraudcli.schema import FIELDS, MAX_AMOUNT, MAX_TS, MIN_TS, STRING_FIELDS, ColumnMap, Txn

_STRINGS = ("transaction_id", "user_id", "merchant_id", "merchant_category", "country")
_STRINGS += ("device_id", "channel")

_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
_FIELD_SET = frozenset(FIELDS)


def renamed(batch: pa.RecordBatch, columns: ColumnMap) -> dict[str, pa.Array]:
    """Columns by schema field name (mapped columns renamed); other columns keep their names.
    Decimal columns (amounts often are) become floats, each value rounded as `float()` does."""
    source_to_field = {source: field for field, source in columns.mapping}
    return {
        source_to_field.get(name, name): _decimal_as_float(batch.column(i))
        for i, name in enumerate(batch.schema.names)
    }


def _decimal_as_float(array: pa.Array) -> pa.Array:
    if not pa.types.is_decimal(array.type):
        return array
    return pa.array([None if v is None else float(v) for v in array.to_pylist()], pa.float64())


def clean_mask(data: dict[str, pa.Array], n: int) -> np.ndarray:
    """True where a row passes every check of `validate` in its common, clean form."""
    mask = np.ones(n, dtype=bool)
    for check in (_ids, _amount, _timestamp, _strings, _country, _location, _label):
        mask &= check(data, n)
    return mask


def filled(array: pa.Array, value) -> np.ndarray:
    """`array` as NumPy, nulls replaced by `value`."""
    return pc.fill_null(array, value).to_numpy(zero_copy_only=False)


def _is_string(array: pa.Array | None) -> bool:
    return array is not None and (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    )


def _ids(data, n):
    mask = np.ones(n, dtype=bool)
    for name in ("transaction_id", "user_id"):
        array = data.get(name)
        if not _is_string(array):
            return np.zeros(n, dtype=bool)
        mask &= filled(pc.utf8_length(array), 0) > 0
    return mask


def _amount(data, n):
    array = data.get("amount")
    if array is None or not (pa.types.is_floating(array.type) or pa.types.is_integer(array.type)):
        return np.zeros(n, dtype=bool)
    values = filled(array.cast(pa.float64()), np.nan)
    with np.errstate(invalid="ignore"):
        return (values >= 0.0) & (values <= MAX_AMOUNT)


def timestamps(array: pa.Array) -> np.ndarray:
    """Epoch seconds of a timestamp column as `parse_timestamp` reads its values: a timestamp
    type by its unit, numbers as epoch seconds (milliseconds above 1e11), text in the canonical
    'YYYY-MM-DDTHH:MM:SSZ' form. NaN (0 for a timestamp type) where null; NaN for any other
    type or text form, which the one-record checks then read."""
    kind = array.type
    if pa.types.is_timestamp(kind):
        return filled(array.cast(pa.int64()), 0).astype(np.float64) / _UNITS[kind.unit]
    if len(array) and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        seconds = filled(array.cast(pa.float64(), safe=False), np.nan)
        return np.where(np.abs(seconds) > MS_CUTOFF, seconds / 1000.0, seconds)
    if len(array) and _is_string(array):
        return canonical_seconds(array.cast(pa.string()))
    return np.full(len(array), np.nan)


def _timestamp(data, n):
    array = data.get("timestamp")
    if array is None:
        return np.zeros(n, dtype=bool)
    ts = timestamps(array)
    return (ts >= MIN_TS) & (ts < MAX_TS)  # NaN (null, other forms) is neither


def _strings(data, n):
    mask = np.ones(n, dtype=bool)
    for name in STRING_FIELDS:
        array = data.get(name)
        if array is None:
            continue
        if not _is_string(array):
            return np.zeros(n, dtype=bool)
        mask &= filled(pc.utf8_length(array), 1) > 0  # null is fine, "" is not
    return mask


def _country(data, n):
    array = data.get("country")
    if array is None:
        return np.ones(n, dtype=bool)
    if not _is_string(array):
        return np.zeros(n, dtype=bool)
    return filled(pc.match_substring_regex(array, "^[A-Z]{2}$"), True)


def _location(data, n):
    lat, lon = data.get("lat"), data.get("lon")
    if lat is None and lon is None:
        return np.ones(n, dtype=bool)
    if (
        lat is None
        or lon is None
        or not (pa.types.is_float64(lat.type) and pa.types.is_float64(lon.type))
    ):
        return np.zeros(n, dtype=bool)
    la, lo = filled(lat, np.nan), filled(lon, np.nan)
    both_missing = np.isnan(la) & np.isnan(lo)
    with np.errstate(invalid="ignore"):
        inside = (np.abs(la) <= 90.0) & (np.abs(lo) <= 180.0)
    return both_missing | inside


def _label(data, n):
    array = data.get("is_fraud")
    if array is None:
        return np.ones(n, dtype=bool)
    if not pa.types.is_integer(array.type):
        return np.zeros(n, dtype=bool)
    values = filled(array.cast(pa.int64()), 0)
    return (values == 0) | (values == 1)


def clean_txns(data: dict[str, pa.Array], rows: np.ndarray) -> list[Txn]:
    """`Txn`s for the clean `rows` (indices), built straight from the columns."""
    if not len(rows):
        return []
    take = pa.array(rows, pa.int64())

    def column(name: str) -> list:
        array = data.get(name)
        return [None] * len(rows) if array is None else array.take(take).to_pylist()

    ts = timestamps(data["timestamp"].take(take)).tolist()
    amount = data["amount"].take(take).cast(pa.float64()).to_pylist()
    extra_names = [name for name in data if name not in _FIELD_SET]
    extras = (
        [
            dict(zip(extra_names, values, strict=True))
            for values in zip(*(column(name) for name in extra_names), strict=True)
        ]
        if extra_names
        else [None] * len(rows)
    )
    lat = column("lat")
    return [
        Txn(tid, t, uid, a, m, cat, c, la, lo, dev, ch, label, ex)
        for tid, t, uid, a, m, cat, c, la, lo, dev, ch, label, ex in zip(
            column("transaction_id"),
            ts,
            column("user_id"),
            amount,
            column("merchant_id"),
            column("merchant_category"),
            column("country"),
            lat,
            column("lon"),
            column("device_id"),
            column("channel"),
            column("is_fraud"),
            extras,
            strict=True,
        )
    ]


def format_timestamps(ts: np.ndarray) -> pa.Array:
    """`schema.format_timestamp` over an array: the same text, row for row.

    Arrow formats whole seconds as "YYYY-MM-DD HH:MM:SS" (fixed width for the years
    `validate` accepts); the bytes are then rewritten in place to "YYYY-MM-DDTHH:MM:SSZ".
    Rows with milliseconds (rare) are formatted one by one."""
    from fraudcli.schema import format_timestamp

    millis = np.rint(ts * 1000.0).astype(np.int64)  # round half to even, as `round`
    seconds = np.floor_divide(millis, 1000)
    text = pa.array(seconds, pa.timestamp("s")).cast(pa.string())
    n = len(text)
    raw = np.frombuffer(text.buffers()[2], dtype=np.uint8)[: 19 * n] if n else np.empty(0)
    if text.buffers()[1] is None or len(raw) != 19 * n or (n and text.offset):
        return pa.array([format_timestamp(t) for t in ts.tolist()], pa.string())
    out = np.empty((n, 20), dtype=np.uint8)
    out[:, :19] = raw.reshape(n, 19)
    out[:, 10], out[:, 19] = ord("T"), ord("Z")
    offsets = pa.py_buffer(np.arange(0, 20 * n + 1, 20, dtype=np.int32))
    stamps = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(out))
    fraction = np.flatnonzero(millis != seconds * 1000)
    if len(fraction):
        texts = stamps.to_numpy(zero_copy_only=False).astype(object)
        texts[fraction] = [format_timestamp(t) for t in ts[fraction].tolist()]
        stamps = pa.array(texts, pa.string())
    return stamps


# --- Parquet blocks for the column path of `fraud score` -------------------------------------


def parquet_blocks(path, columns: ColumnMap, batch_rows: int) -> Iterator[ValidBlock]:
    """The valid rows of each Parquet batch as columns (see `ValidBlock`), rejects aside.

    A clean batch goes column to column, its columns outside the schema carried along as
    `passthrough`; a batch with any row the kernels do not pass goes row by row through the
    record path's checks (`io._batch_items`), and its valid rows back into columns."""
    from fraudcli.io import _batch_items, parquet_record_batches

    first = 1
    for batch in parquet_record_batches(path, batch_rows):
        data = renamed(batch, columns)
        n = batch.num_rows
        if clean_mask(data, n).all():
            passthrough = {k: v for k, v in data.items() if k not in _FIELD_SET}
            lines = np.arange(first, first + n)
            block = ValidBlock(n, lines, _clean_columns(data, n), {}, [], passthrough)
        else:
            block = block_of_items(_batch_items(batch, columns, first))
        yield block
        first += n


def _clean_columns(data: dict[str, pa.Array], n: int) -> dict[str, pa.Array]:
    """The schema fields of clean rows in `ValidBlock.data` form."""
    out = {name: _as(data.get(name), pa.string(), n) for name in _STRINGS}
    out |= {name: _as(data.get(name), pa.float64(), n) for name in ("amount", "lat", "lon")}
    out["is_fraud"] = _as(data.get("is_fraud"), pa.int8(), n)
    out["ts"] = pa.array(timestamps(data["timestamp"]), pa.float64())
    out["ts_text"] = pa.nulls(n, pa.string())
    return out


def _as(array: pa.Array | None, kind: pa.DataType, n: int) -> pa.Array:
    if array is None:
        return pa.nulls(n, kind)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array if array.type == kind else array.cast(kind)


def block_of_items(items) -> ValidBlock:
    """A `ValidBlock` from record-path items `(line, raw, Txn or Reject)`."""
    txns = [(line, item) for line, _, item in items if isinstance(item, Txn)]
    rejects = [item for _, _, item in items if not isinstance(item, Txn)]
    lines = np.array([line for line, _ in txns], dtype=np.int64)
    valid = [txn for _, txn in txns]
    extras = {i: txn.extras for i, txn in enumerate(valid) if txn.extras is not None}
    return ValidBlock(len(items), lines, txn_columns(valid), extras, rejects)


def txn_columns(txns: list[Txn]) -> dict[str, pa.Array]:
    """`ValidBlock.data` of a list of `Txn`s."""

    def column(name: str, kind: pa.DataType) -> pa.Array:
        return pa.array([getattr(t, name) for t in txns], kind)

    out = {name: column(name, pa.string()) for name in _STRINGS}
    out |= {name: column(name, pa.float64()) for name in ("amount", "lat", "lon")}
    out["is_fraud"] = column("is_fraud", pa.int8())
    out["ts"] = column("ts", pa.float64())
    out["ts_text"] = column("ts_text", pa.string())
    return out
