"""Feature-store state as Arrow tables (for model bundles and state directories) and back.
No pickle.

    user_entries      user_id, ts, amount, merchant_id, country, device_id, and cum_amount (the
                      running sum through the entry, as the one-record store keeps it, so a
                      restored store adds up to the very same floats)
    user_last         user_id, prev_ts (previous in input order), loc_lat/lon/ts (previous
                      located)
    merchant_entries  merchant_id, ts, is_fraud (the label as it is now)
    label_changes     merchant_id, ts, arrival, change: labels that arrived after ts + d
                      (`fraudcli.features.labels`), change = new - old
    transactions      the id registry (`fraudcli.records.id_registry`), when the store has one

Entries are grouped by key, in time order within a key. A table missing from older snapshots
(label_changes, transactions, cum_amount) restores as empty.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

import pyarrow as pa

from fraudcli.features.state import MerchantState, UserState, prefix_sums
from fraudcli.records.id_registry import IdRegistry

SNAPSHOT_VERSION = 1
LABEL_CHANGES_SCHEMA = pa.schema(
    [
        ("merchant_id", pa.string()),
        ("ts", pa.float64()),
        ("arrival", pa.float64()),
        ("change", pa.int8()),
    ]
)


def snapshot_tables(store) -> dict[str, pa.Table]:
    """The store's tables (see the module docstring)."""
    tables = {
        "user_entries": _user_entries(store.users),
        "user_last": _user_last(store.users),
        "merchant_entries": _merchant_entries(store.merchants),
        "label_changes": _label_changes(store.merchants),
    }
    if store.ids is not None:
        tables["transactions"] = store.ids.table()
    return tables


def _user_entries(users: dict[str, UserState]) -> pa.Table:
    cols: dict[str, list] = {k: [] for k in ("user_id", "ts", "amount", "merchant_id")}
    cols |= {"country": [], "device_id": [], "cum_amount": []}
    for user_id, state in users.items():
        n = len(state.ts)
        cols["user_id"] += [user_id] * n
        cols["ts"] += state.ts
        cols["amount"] += [b - a for a, b in zip(state.cum, state.cum[1:], strict=False)]
        cols["merchant_id"] += state.merchant
        cols["country"] += state.country
        cols["device_id"] += state.device
        cols["cum_amount"] += state.cum[1:]
    types = {"ts": pa.float64(), "amount": pa.float64(), "cum_amount": pa.float64()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})


def _label_changes(merchants: dict[str, MerchantState]) -> pa.Table:
    rows = [
        (merchant_id, *change)
        for merchant_id, state in merchants.items()
        for change in state.changes or ()
    ]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in LABEL_CHANGES_SCHEMA]
    return pa.table(
        [pa.array(c, f.type) for c, f in zip(columns, LABEL_CHANGES_SCHEMA, strict=True)],
        schema=LABEL_CHANGES_SCHEMA,
    )


def _user_last(users: dict[str, UserState]) -> pa.Table:
    rows = [(uid, s.prev_ts, *(s.loc if s.loc else (None, None, None))) for uid, s in users.items()]
    names = ["user_id", "prev_ts", "loc_lat", "loc_lon", "loc_ts"]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    types = [pa.string()] + [pa.float64()] * 4
    return pa.table([pa.array(c, t) for c, t in zip(columns, types, strict=True)], names=names)


def _merchant_entries(merchants: dict[str, MerchantState]) -> pa.Table:
    ids, ts, labels = [], [], []
    for merchant_id, state in merchants.items():
        ids += [merchant_id] * len(state.ts)
        ts += state.ts
        labels += [b - a for a, b in zip(state.cum_fraud, state.cum_fraud[1:], strict=False)]
    return pa.table(
        {
            "merchant_id": pa.array(ids, pa.string()),
            "ts": pa.array(ts, pa.float64()),
            "is_fraud": pa.array(labels, pa.int8()),
        }
    )


def restore_store(store, tables: dict[str, pa.Table]):
    """Fill an empty store from `snapshot_tables` output (entries are already sorted per key)."""
    entries = tables["user_entries"]
    sums = entries["cum_amount"].to_pylist() if "cum_amount" in entries.column_names else None
    entries = entries.to_pydict()
    rows = zip(*(entries[k] for k in ("user_id", "ts", "amount", "merchant_id")), strict=True)
    extra = zip(entries["country"], entries["device_id"], strict=True)
    start = 0
    for user_id, group in groupby(
        ((*r, *e) for r, e in zip(rows, extra, strict=True)), key=itemgetter(0)
    ):
        state = store.users.setdefault(user_id, UserState())
        group = list(group)
        state.ts = [g[1] for g in group]
        if sums is None:
            state.cum = prefix_sums([g[2] for g in group], 0.0)
        else:  # the very floats the store held
            state.cum = [0.0, *sums[start : start + len(group)]]
        start += len(group)
        state.merchant = [g[3] for g in group]
        state.country = [g[4] for g in group]
        state.device = [g[5] for g in group]
        state.last_seen = tuple(_newest(values, state.ts) for values in group_values(state))
        store.newest = max(store.newest, state.ts[-1])
    last = tables["user_last"].to_pydict()
    for uid, prev, lat, lon, lts in zip(*last.values(), strict=True):
        state = store.users.setdefault(uid, UserState())
        state.prev_ts = prev
        state.loc = (lat, lon, lts) if lat is not None else None
    merchants = tables["merchant_entries"].to_pydict()
    rows = zip(merchants["merchant_id"], merchants["ts"], merchants["is_fraud"], strict=True)
    for merchant_id, group in groupby(rows, key=itemgetter(0)):
        state = store.merchants.setdefault(merchant_id, MerchantState())
        group = list(group)
        state.ts = [g[1] for g in group]
        state.cum_fraud = prefix_sums([g[2] for g in group], 0)
    _restore_changes(store.merchants, tables.get("label_changes"))
    if store.ids is not None:
        window = store.config.id_window
        store.ids = IdRegistry.from_table(tables.get("transactions"), window, store.newest)
    return store


def _restore_changes(merchants: dict[str, MerchantState], table: pa.Table | None) -> None:
    if table is None:
        return
    data = table.to_pydict()
    rows = zip(data["merchant_id"], data["ts"], data["arrival"], data["change"], strict=True)
    for merchant_id, ts, arrival, change in rows:
        state = merchants.get(merchant_id)
        if state is None:
            continue  # its entries expired: so did the change
        if state.changes is None:
            state.changes = []
        state.changes.append((ts, arrival, change))
        state.last_arrival = max(state.last_arrival, arrival)


def group_values(state: UserState) -> tuple[list, list, list]:
    return state.merchant, state.country, state.device


def _newest(values: list, ts: list[float]) -> dict:
    newest: dict = {}
    for value, t in zip(values, ts, strict=True):
        if value is not None:
            newest[value] = t  # entries are sorted by time: the last one wins
    return newest
