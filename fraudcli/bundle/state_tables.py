"""The declared shape of a bundle's feature-store state (`state/*.arrow`), checked on load.

    user_entries      user_id text, ts, amount (>= 0) and merchant_id, country, device_id (text
                      or null): a user's entries together, oldest first
                      and cum_amount, the running sum (exact restores)
    label_changes     merchant_id, ts, arrival, change (optional: labels given after the fact)
    transactions      transaction_id, ts, merchant_id, is_fraud, label_arrival (optional: the
                      ids a duplicate is checked against)
    user_last         user_id (once each), prev_ts, loc_lat, loc_lon, loc_ts (null when unknown;
                      the three loc_ columns null together, lat in [-90, 90], lon in [-180, 180])
    merchant_entries  merchant_id text, ts, is_fraud (0 or 1): a merchant's entries together,
                      oldest first
Every number is finite; a column of another name, type or order is refused. Restoring a store
relies on all of this (`fraudcli.features.snapshot`, `ColumnState.from_snapshot`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fraudcli.bundle.shapes import Shape
from fraudcli.features.snapshot import LABEL_CHANGES_SCHEMA
from fraudcli.records.id_registry import TABLE_SCHEMA
from fraudcli.records.kernels import kernel

TEXT, NUMBER = pa.string(), pa.float64()
SCHEMAS = {
    "user_entries": (
        ("user_id", TEXT),
        ("ts", NUMBER),
        ("amount", NUMBER),
        ("merchant_id", TEXT),
        ("country", TEXT),
        ("device_id", TEXT),
        ("cum_amount", NUMBER),
    ),
    "user_last": (
        ("user_id", TEXT),
        ("prev_ts", NUMBER),
        ("loc_lat", NUMBER),
        ("loc_lon", NUMBER),
        ("loc_ts", NUMBER),
    ),
    "merchant_entries": (("merchant_id", TEXT), ("ts", NUMBER), ("is_fraud", pa.int8())),
    "label_changes": tuple((f.name, f.type) for f in LABEL_CHANGES_SCHEMA),
    "transactions": tuple((f.name, f.type) for f in TABLE_SCHEMA),
}
NOT_NULL = {
    "user_entries": ("user_id", "ts", "amount"),
    "user_last": ("user_id",),
    "merchant_entries": ("merchant_id", "ts", "is_fraud"),
    "label_changes": ("merchant_id", "ts", "arrival", "change"),
    "transactions": ("transaction_id", "ts"),
}
LOCATION = ("loc_lat", "loc_lon", "loc_ts")
RANGES = {"amount": (0.0, np.inf), "loc_lat": (-90.0, 90.0), "loc_lon": (-180.0, 180.0)}


def check_state(tables: dict[str, pa.Table], where: str) -> None:
    for name, columns in SCHEMAS.items():
        s = Shape(f"{where}: state/{name}")
        table = tables.get(name)
        if table is None:  # an optional table (label changes, the id registry) not there
            continue
        found = [(f.name, str(f.type)) for f in table.schema]
        if found != [(n, str(t)) for n, t in columns]:
            wanted = ", ".join(f"{n} {t}" for n, t in columns)
            s.fail("the table", f"must have the columns {wanted}; it has {found}"[:300])
        for column in NOT_NULL[name]:
            if table[column].null_count:
                s.fail(column, "has nulls")
        for column, kind in columns:
            if kind == NUMBER:
                _finite(s, table[column], column)
    _sorted_groups(tables["user_entries"], "user_id", Shape(f"{where}: state/user_entries"))
    merchants = tables["merchant_entries"]
    s = Shape(f"{where}: state/merchant_entries")
    _sorted_groups(merchants, "merchant_id", s)
    labels = kernel("min_max", merchants["is_fraud"]).as_py()  # (not is_in: pa.array loads pandas)
    if labels["min"] is not None and (labels["min"] < 0 or labels["max"] > 1):
        s.fail("is_fraud", "must be 0 or 1")
    _last(tables["user_last"], Shape(f"{where}: state/user_last"))


def _finite(s: Shape, column: pa.ChunkedArray, name: str) -> None:
    """Every value (nulls aside) finite and in the column's range. Arrow's kernels only: a
    column's `to_numpy` would load pandas, which deciding never needs."""
    low, high = RANGES.get(name, (-np.inf, np.inf))
    span = kernel("min_max", column).as_py()
    outside = span["min"] is not None and (span["min"] < low or span["max"] > high)
    if outside or kernel("any", kernel("invert", kernel("is_finite", column))).as_py():
        s.fail(name, f"holds a number that is not finite or outside [{low:g}, {high:g}]")


def _sorted_groups(table: pa.Table, key: str, s: Shape) -> None:
    """Each key's rows next to each other, and in time order within it."""
    if table.num_rows < 2:
        return
    ids, ts = table[key].combine_chunks(), table["ts"].combine_chunks()
    n = len(ids)
    changes = kernel("not_equal", ids.slice(1), ids.slice(0, n - 1))
    if kernel("sum", changes).as_py() + 1 != kernel("count_distinct", ids).as_py():
        s.fail(key, "must keep each key's entries together")
    backwards = kernel("less", ts.slice(1), ts.slice(0, n - 1))
    if kernel("any", kernel("and", backwards, kernel("invert", changes))).as_py():
        s.fail("ts", f"must not go back in time within one {key}")


def _last(table: pa.Table, s: Shape) -> None:
    if kernel("count_distinct", table["user_id"]).as_py() != table.num_rows:
        s.fail("user_id", "must not repeat a user")
    lat, lon, ts = (kernel("is_null", table[c]) for c in LOCATION)
    together = kernel("and", kernel("equal", lat, lon), kernel("equal", lat, ts))
    if kernel("all", together).as_py() is False:
        s.fail("loc_lat", "loc_lon and loc_ts must be null together")
