"""Feature-store state as Arrow tables (for model bundles) and back. No pickle."""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

import pyarrow as pa

from fraudcli.features.state import MerchantState, UserState, prefix_sums

SNAPSHOT_VERSION = 1


def snapshot_tables(store) -> dict[str, pa.Table]:
    """Three tables: user entries, user 'previous' pointers, merchant entries."""
    return {
        "user_entries": _user_entries(store.users),
        "user_last": _user_last(store.users),
        "merchant_entries": _merchant_entries(store.merchants),
    }


def _user_entries(users: dict[str, UserState]) -> pa.Table:
    cols: dict[str, list] = {k: [] for k in ("user_id", "ts", "amount", "merchant_id")}
    cols |= {"country": [], "device_id": []}
    for user_id, state in users.items():
        n = len(state.ts)
        cols["user_id"] += [user_id] * n
        cols["ts"] += state.ts
        cols["amount"] += [b - a for a, b in zip(state.cum, state.cum[1:], strict=False)]
        cols["merchant_id"] += state.merchant
        cols["country"] += state.country
        cols["device_id"] += state.device
    types = {"ts": pa.float64(), "amount": pa.float64()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})


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
    entries = tables["user_entries"].to_pydict()
    rows = zip(*(entries[k] for k in ("user_id", "ts", "amount", "merchant_id")), strict=True)
    extra = zip(entries["country"], entries["device_id"], strict=True)
    for user_id, group in groupby(
        ((*r, *e) for r, e in zip(rows, extra, strict=True)), key=itemgetter(0)
    ):
        state = store.users.setdefault(user_id, UserState())
        group = list(group)
        state.ts = [g[1] for g in group]
        state.cum = prefix_sums([g[2] for g in group], 0.0)
        state.merchant = [g[3] for g in group]
        state.country = [g[4] for g in group]
        state.device = [g[5] for g in group]
        state.last_seen = tuple(_newest(values, state.ts) for values in group_values(state))
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
    return store


def group_values(state: UserState) -> tuple[list, list, list]:
    return state.merchant, state.country, state.device


def _newest(values: list, ts: list[float]) -> dict:
    newest: dict = {}
    for value, t in zip(values, ts, strict=True):
        if value is not None:
            newest[value] = t  # entries are sorted by time: the last one wins
    return newest
