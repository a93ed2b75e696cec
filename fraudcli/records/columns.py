"""Validation of a whole Arrow batch at once (Parquet input).

Clean rows are checked with Arrow/NumPy kernels and become `Txn`s directly; any row that fails
a check goes through the one-record `validate`, which accepts the forms the kernels do not
handle or says exactly what is wrong. Both paths accept the same rows (see the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from fraudcli.records._arrow import filled, is_string
from fraudcli.records.field_checks import MAX_AMOUNT
from fraudcli.records.iso_columns import timestamps
from fraudcli.records.kernels import kernel
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import FIELDS, STRING_FIELDS, ColumnMap, Txn
from fraudcli.records.timestamps import MAX_TS, MIN_TS

STRING_COLUMNS = ("transaction_id", "user_id", "merchant_id", "merchant_category", "country")
STRING_COLUMNS += ("device_id", "channel")

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


def _ids(data, n):
    mask = np.ones(n, dtype=bool)
    for name in ("transaction_id", "user_id"):
        array = data.get(name)
        if not is_string(array):
            return np.zeros(n, dtype=bool)
        mask &= filled(kernel("utf8_length", array), 0) > 0
    return mask


def _amount(data, n):
    array = data.get("amount")
    if array is None or not (pa.types.is_floating(array.type) or pa.types.is_integer(array.type)):
        return np.zeros(n, dtype=bool)
    values = filled(array.cast(pa.float64(), safe=False), np.nan)  # 2**60 is too big anyway
    with np.errstate(invalid="ignore"):
        return (values >= 0.0) & (values <= MAX_AMOUNT)


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
        if not is_string(array):
            return np.zeros(n, dtype=bool)
        mask &= filled(kernel("utf8_length", array), 1) > 0  # null is fine, "" is not
    return mask


def _country(data, n):
    array = data.get("country")
    if array is None:
        return np.ones(n, dtype=bool)
    if not is_string(array):
        return np.zeros(n, dtype=bool)
    import pyarrow.compute as pc  # (the column path's: not at start)

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
        Txn(
            transaction_id=tid,
            ts=t,
            user_id=uid,
            amount=a,
            merchant_id=m,
            merchant_category=cat,
            country=c,
            lat=la,
            lon=lo,
            device_id=dev,
            channel=ch,
            is_fraud=label,
            extras=ex,
        )  # fmt: skip
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


# --- Parquet blocks for the column path of `fraud score` -------------------------------------


def block_of_items(items) -> ValidBlock:
    """A `ValidBlock` from record-path items `(line, raw, Txn or Reject)`."""
    txns = [(line, raw, item) for line, raw, item in items if isinstance(item, Txn)]
    rejects = [item for _, _, item in items if not isinstance(item, Txn)]
    lines = np.array([line for line, _, _ in txns], dtype=np.int64)
    valid = [txn for _, _, txn in txns]
    extras = {i: txn.extras for i, txn in enumerate(valid) if txn.extras is not None}
    raws = [raw for _, raw, _ in txns]
    raw_line = None if any(raw is None for raw in raws) else _raw_of(lines, raws)
    return ValidBlock(len(items), lines, txn_columns(valid), extras, rejects, raw_line=raw_line)


def _raw_of(lines: np.ndarray, raws: list[str]) -> Callable[[int], str]:
    return lambda line: raws[int(np.searchsorted(lines, line))]


def txn_columns(txns: list[Txn]) -> dict[str, pa.Array]:
    """`ValidBlock.data` of a list of `Txn`s."""

    def column(name: str, kind: pa.DataType) -> pa.Array:
        return pa.array([getattr(t, name) for t in txns], kind)

    out = {name: column(name, pa.string()) for name in STRING_COLUMNS}
    out |= {name: column(name, pa.float64()) for name in ("amount", "lat", "lon")}
    out["is_fraud"] = column("is_fraud", pa.int8())
    out["ts"] = column("ts", pa.float64())
    out["ts_text"] = column("ts_text", pa.string())
    return out


@dataclass
class ValidBlock:
    """`n_read` records read: the valid ones as columns, the others as `rejects` (in order).

    `data` holds the valid records' fields, all of one length: transaction_id, user_id,
    merchant_id, merchant_category, country, device_id, channel (string); amount, lat, lon
    (float64); ts (float64 epoch seconds, `Txn.ts`); ts_text (string, `Txn.ts_text`); is_fraud
    (int8). Null is None. `lines` are their line (row) numbers; `extras` their `Txn.extras`
    where a record has its own; `passthrough` input fields outside the schema common to the
    other records (Parquet columns, JSONL keys on most lines), one value per valid record,
    which a record listed in `extras` does not take (its own extras are all it has).
    """

    n_read: int
    lines: np.ndarray
    data: dict[str, pa.Array]
    extras: dict[int, dict]
    rejects: list[Reject]
    passthrough: dict[str, pa.Array] = field(default_factory=dict)
    # line (row) number -> its raw text as the record path gives it in a reject (a JSONL line,
    # a CSV row); None where the record path has no text (Parquet: the fields as JSON instead)
    raw_line: Callable[[int], str] | None = None
