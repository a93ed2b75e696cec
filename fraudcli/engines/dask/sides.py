"""The user side and the merchant side of the features on one shuffled partition.

A partition holds every row of its keys (the shuffle puts all of a key's rows, and its stored
entries, in one partition), in no useful order: rows are put back in input order by sequence
number, duplicates dropped, and `ColumnState.step_users` / `step_merchants` (the batch kernels
of `fraudcli.features.batch`) compute that side from the partition's own stored entries. A
partition the kernels cannot do exactly (timestamps out of order, or before a stored entry)
goes record by record through the one-record store instead, as the embedded path does: a key's
features read only that key's rows, so either way the result is the embedded run's.

Stored state travels in the same frame as the rows (`kind`): ENTRY rows are `user_entries` /
`merchant_entries`, LAST rows `user_last` (prev_ts in `ts`, the previous location in `lat`,
`lon`, `loc_ts`), `seq` their place in the stored tables (entries first, then the LAST rows);
ROW rows are the input's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudcli.engines.dask.cluster import SIDE_ROWS
from fraudcli.engines.dask.partition import STRING, arrow_columns
from fraudcli.features.batch import MERCHANT, USER
from fraudcli.features.continued import ColumnState
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import StoreConfig
from fraudcli.records.schema import Txn

ENTRY, LAST, ROW, CHANGE = 0, 1, 2, 3
USER_KEYS = ["seq", "ts", "amount", "lat", "lon", "user_id", "merchant_id", "country", "device_id"]
MERCHANT_KEYS = ["seq", "ts", "label", "merchant_id"]
USER_NAMES = list(FEATURE_NAMES[USER])
MERCHANT_NAMES = list(FEATURE_NAMES[MERCHANT])
_STRINGS = ("user_id", "merchant_id", "country", "device_id")


@dataclass(frozen=True)
class Side:
    """One partition's side: `features` (seq, then the side's columns, input order), the rows
    and the largest key's rows (hot keys), and the state it leaves (snapshot tables with an
    `order` column: where each key goes among all, see `state_order`) when asked for."""

    features: pd.DataFrame
    rows: int
    keys: int
    largest: tuple[str | None, int]
    state: dict[str, pa.Table] | None


def user_side(
    frame: pd.DataFrame,
    dups: np.ndarray,
    config: StoreConfig,
    keep: bool,
    n_stored: int = 0,
    block_rows: int = SIDE_ROWS,
) -> Side:
    """The user side of a partition by user; `keep`: return the state it leaves too;
    `n_stored`: rows in the stored user tables (entries and last) of the whole run;
    `block_rows`: rows per step of the kernels."""
    rows, stored = _split(frame, dups)
    tables = ColumnState(config).snapshot()
    if stored is not None:
        entries = stored[stored["kind"] == ENTRY]
        last = stored[stored["kind"] == LAST]
        tables["user_entries"] = pa.table(
            arrow_columns(
                entries, ["user_id", "ts", "amount", "merchant_id", "country", "device_id"]
            )
        )
        tables["user_last"] = _user_last(last)
    X, state = _step(rows, tables, config, "users", block_rows)
    entries = state["user_entries"]
    if "cum_amount" in entries.column_names:  # (the one-record store's: as the column path's)
        state["user_entries"] = entries.drop_columns(["cum_amount"])
    return _side(rows, X, USER_NAMES, "user_id", state if keep else None, stored, n_stored)


def merchant_side(
    frame: pd.DataFrame,
    dups: np.ndarray,
    config: StoreConfig,
    keep: bool,
    n_stored: int = 0,
    block_rows: int = SIDE_ROWS,
) -> Side:
    """The merchant side of a partition by merchant (rows with a merchant only)."""
    rows, stored = _split(frame, dups)
    tables = ColumnState(config).snapshot()
    if stored is not None:
        entries = stored[stored["kind"] == ENTRY]
        tables["merchant_entries"] = pa.table(
            {
                "merchant_id": pa.array(entries["merchant_id"]),
                "ts": pa.array(entries["ts"], pa.float64()),
                "is_fraud": pa.array(entries["label"], pa.int8()),
            }
        )
        tables["label_changes"] = _label_changes(stored[stored["kind"] == CHANGE])
    X, state = _step(rows, tables, config, "merchants", block_rows)
    return _side(rows, X, MERCHANT_NAMES, "merchant_id", state if keep else None, stored, n_stored)


def _label_changes(changes: pd.DataFrame) -> pa.Table:
    return pa.table(
        {
            "merchant_id": pa.array(changes["merchant_id"]).cast(pa.string()),
            "ts": pa.array(changes["ts"].to_numpy(dtype=np.float64), pa.float64()),
            "arrival": pa.array(changes["loc_ts"].to_numpy(dtype=np.float64), pa.float64()),
            "change": pa.array(changes["label"].to_numpy(dtype=np.int8), pa.int8()),
        }
    )


def _split(frame: pd.DataFrame, dups: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The input rows (duplicates dropped, in input order) and the stored rows (in table
    order), when the frame has any."""
    stored = None
    if "kind" in frame.columns:
        stored = frame[frame["kind"] != ROW].sort_values("seq", kind="stable")
        frame = frame[frame["kind"] == ROW]
    frame = frame[~np.isin(frame["seq"].to_numpy(), dups)]
    return frame.sort_values("seq", kind="stable"), stored


def _user_last(last: pd.DataFrame) -> pa.Table:
    located = ~np.isnan(last["lat"].to_numpy(dtype=np.float64))

    def floats(name: str, mask=None) -> pa.Array:
        return pa.array(last[name].to_numpy(dtype=np.float64), pa.float64(), mask=mask)

    return pa.table(
        {
            "user_id": pa.array(last["user_id"]),
            "prev_ts": floats("ts"),
            "loc_lat": floats("lat", ~located),
            "loc_lon": floats("lon", ~located),
            "loc_ts": floats("loc_ts", ~located),
        }
    )


def _step(rows: pd.DataFrame, tables, config: StoreConfig, side: str, block_rows: int):
    """The side's features of `rows` from the stored `tables`, and the state after them: the
    kernels step through `block_rows` rows at a time (in input order, as the column path
    steps through a file's blocks); from a block they cannot do exactly on, record by record
    (`ColumnState.step_*` leaves the state untouched then)."""
    state = ColumnState.from_snapshot(tables, config)
    columns = USER if side == "users" else MERCHANT
    # one array for the partition (a step's X is a view of 26 columns: not kept)
    out = np.empty((len(rows), columns.stop - columns.start), dtype=np.float64)
    for start in range(0, len(rows), max(block_rows, 1)):
        chunk = state.chunk(_columns(rows.iloc[start : start + block_rows]))
        X = state.step_users(chunk) if side == "users" else state.step_merchants(chunk)
        if X is None:
            rest, snapshot = _record_by_record(state, rows.iloc[start:], side)
            out[start:] = rest
            return out, snapshot
        out[start : start + len(X)] = X
    return out, state.snapshot()


def _columns(rows: pd.DataFrame) -> dict[str, pa.Array]:
    data = {name: pa.array(rows[name]) for name in _STRINGS if name in rows.columns}
    data |= {name: pa.array(rows[name].to_numpy()) for name in ("ts", "amount", "lat", "lon")
             if name in rows.columns}  # fmt: skip
    if "label" in rows.columns:
        data["is_fraud"] = pa.array(rows["label"].to_numpy())
    return data


def _record_by_record(state: ColumnState, rows: pd.DataFrame, side: str):
    """The one-record store's lookups and updates, for a partition out of time order."""
    store = state.to_store()
    columns = USER if side == "users" else MERCHANT
    X = np.empty((len(rows), columns.stop - columns.start), dtype=np.float64)
    for i, txn in enumerate(_txns(rows)):
        X[i] = store.lookup(txn)[columns]
        store.update(txn)
    return X, store.snapshot()


def _txns(rows: pd.DataFrame) -> list[Txn]:
    def values(name: str, default=None) -> list:
        if name not in rows.columns:
            return [default] * len(rows)
        column = rows[name]
        if column.dtype == STRING:
            return [None if v is pd.NA else v for v in column.tolist()]
        return [None if v != v else v for v in column.tolist()]  # NaN: unknown

    user = values("user_id", "") if "user_id" in rows.columns else [""] * len(rows)
    return [
        Txn("", ts, u, amount if amount is not None else 0.0, m, None, c, lat, lon, d, None, y)
        for ts, u, amount, m, c, lat, lon, d, y in zip(
            values("ts"),
            user,
            values("amount"),
            values("merchant_id"),
            values("country"),
            values("lat"),
            values("lon"),
            values("device_id"),
            values("label", 0),
            strict=True,
        )  # fmt: skip
    ]


def _side(rows, X, names: list[str], key: str, state, stored, n_stored: int) -> Side:
    features = pd.DataFrame(X, columns=names, index=pd.RangeIndex(len(rows)))
    features.insert(0, "seq", rows["seq"].to_numpy())
    counts = rows[key].value_counts(sort=True)
    largest = (str(counts.index[0]), int(counts.iloc[0])) if len(counts) else (None, 0)
    if state is not None:
        state = state_order(state, key, _key_order(rows, stored, key, n_stored))
    return Side(features, len(rows), len(counts), largest, state)


def _key_order(rows: pd.DataFrame, stored, key: str, n_stored: int) -> pd.Series:
    """Where each key of the partition goes among all keys: stored keys first, by their first
    place in the stored tables (`seq`: the entries numbered first, then the LAST rows), then
    new keys by their first row's sequence number."""
    order = n_stored + rows.groupby(key, sort=False, observed=True)["seq"].min()
    if stored is not None and len(stored):
        known = stored["seq"].groupby(stored[key], sort=False, observed=True).min()
        order = known.combine_first(order)
    return order.astype(np.float64)


def state_order(tables: dict[str, pa.Table], key: str, order: pd.Series) -> dict:
    """The snapshot tables of one side, each row given its key's `order` (see `_key_order`),
    by which the driver puts the partitions' tables back together (`gathered_state`)."""
    out = {}
    side = key.split("_")[0]
    for name, table in tables.items():
        if not (name.startswith(side) or (side == "merchant" and name == "label_changes")):
            continue
        ids = table[key].to_pandas() if len(table) else pd.Series([], dtype=object)
        where = ids.map(order).to_numpy(dtype=np.float64, na_value=np.nan)
        out[name] = table.append_column("order", pa.array(where, pa.float64()))
    return out


def side_state(side: Side) -> dict[str, pa.Table] | None:
    return side.state


def side_keys(side: Side) -> int:
    return side.keys


def gathered_state(states: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """The snapshot tables of every partition's side put together: keys in their `order`
    (a stable sort keeps each key's entries in time order), without the `order` column."""
    import pyarrow.compute as pc

    out = {}
    for name in ("user_entries", "user_last", "merchant_entries", "label_changes"):
        tables = [state[name] for state in states if state and name in state]
        table = pa.concat_tables(tables)
        table = table.take(pc.sort_indices(table, [("order", "ascending")]))
        out[name] = table.drop_columns(["order"])
    return out
