"""The store state after a batch, built straight from its columns.

It is what `snapshot.restore_store` would build from snapshot tables holding these entries
(the tests check that), without its Python pass per entry (several times faster on a million
rows: about 0.5 s against 2.4 s). Only the entries a later lookup can see are kept: a key's entries
newer than its newest timestamp minus the store's horizon (the one-record store drops older ones
in chunks, and a record within `lateness` never looks further back). Keys keep their order of
first appearance, as the one-record store's dicts do, so snapshots list them in the same order.
"""

from __future__ import annotations

import numpy as np

from fraudcli.features.batch_groups import Codes, Groups, TxnColumns
from fraudcli.features.state import MerchantState, UserState
from fraudcli.features.store import InMemoryStore, StoreConfig


def build_store(
    columns: TxnColumns, users: Groups, merchants: Groups, config: StoreConfig
) -> InMemoryStore:
    store = InMemoryStore(config)
    _fill_users(store.users, columns, users, config.user_horizon)
    _fill_merchants(store.merchants, columns, merchants, config.merchant_horizon)
    return store


def _kept(groups: Groups, horizon: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Input rows of the entries within `horizon` of their group's newest (group order), and
    each group's slice of them; every group keeps at least its newest entry."""
    keep = groups.ts > groups.ts[groups.end] - horizon
    group = groups.group[keep]
    cuts = [0, *(np.flatnonzero(group[1:] != group[:-1]) + 1).tolist(), len(group)]
    spans = list(zip(cuts[:-1], cuts[1:], strict=True)) if len(group) else []
    return groups.order[keep], spans


def _values(codes: Codes, rows: np.ndarray) -> list:
    """The column's values at `rows` as Python objects, None where missing."""
    with_none = np.append(codes.uniques.astype(object), None)  # code -1 picks the None
    return with_none[codes.codes[rows]].tolist()


def _fill_users(
    users: dict[str, UserState], columns: TxnColumns, groups: Groups, horizon: float
) -> None:
    rows, spans = _kept(groups, horizon)
    ts, amount = columns.ts[rows], columns.amount[rows]
    ts_list, ids = ts.tolist(), _values(columns.user, rows)
    merchant, country = _values(columns.merchant, rows), _values(columns.country, rows)
    device = _values(columns.device, rows)
    for a, b in spans:
        state = users[ids[a]] = UserState()
        state.ts = ts_list[a:b]
        # sequential float64 sums from 0.0: the same numbers as the store's `_prefix`
        state.cum = [0.0, *np.cumsum(amount[a:b]).tolist()]
        state.merchant, state.country, state.device = merchant[a:b], country[a:b], device[a:b]
        state.last_seen = tuple(_newest(v, state.ts) for v in (merchant[a:b], country[a:b]))
        state.last_seen += (_newest(device[a:b], state.ts),)
    _fill_last(users, columns, groups)


def _newest(values: list, ts: list[float]) -> dict:
    newest = dict(zip(values, ts, strict=True))  # entries are in time order: the last one wins
    newest.pop(None, None)
    return newest


def _fill_last(users: dict[str, UserState], columns: TxnColumns, groups: Groups) -> None:
    """Each user's previous timestamp and previous located txn (lat, lon, ts)."""
    last = groups.end[groups.pos == groups.start]  # one place per group
    located = groups.latest_where(~np.isnan(columns.lat[groups.order]), strictly_before=False)
    place = located[last]
    rows = groups.order[np.maximum(place, 0)]
    lat, lon, ts = (values[rows].tolist() for values in (columns.lat, columns.lon, columns.ts))
    ids, prev_ts = _values(columns.user, groups.order[last]), groups.ts[last].tolist()
    for i, known in enumerate((place >= 0).tolist()):
        state = users[ids[i]]
        state.prev_ts = prev_ts[i]
        state.loc = (lat[i], lon[i], ts[i]) if known else None


def _fill_merchants(
    merchants: dict[str, MerchantState], columns: TxnColumns, groups: Groups, horizon: float
) -> None:
    rows, spans = _kept(groups, horizon)
    ts_list, ids = columns.ts[rows].tolist(), _values(columns.merchant, rows)
    labels = columns.label[rows]
    for a, b in spans:
        state = merchants[ids[a]] = MerchantState()
        state.ts = ts_list[a:b]
        state.cum_fraud = [0, *np.cumsum(labels[a:b]).tolist()]
