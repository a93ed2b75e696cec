"""Feature-store state as Arrow tables (for model bundles) and back. No pickle."""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

import numpy as np
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


def snapshot_end(tables: dict[str, pa.Table]) -> float:
    """The newest timestamp of a snapshot's entries and previous txns (-inf when empty)."""
    import pyarrow.compute as pc

    newest = -np.inf  # (not to_numpy: Arrow's conversion loads pandas, which a start need not)
    for table, name in (("user_entries", "ts"), ("merchant_entries", "ts")):
        value = pc.max(tables[table][name]).as_py()  # a snapshot holds no null nor NaN
        newest = newest if value is None else max(newest, float(value))
    value = pc.max(tables["user_last"]["prev_ts"]).as_py()
    return newest if value is None else max(newest, float(value))


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


class StoredState:
    """A snapshot's tables, each key's state read from them when first asked for: the state
    `restore_store` builds for that key, without building the others. At first only the keys
    are read, to find each one's rows (a snapshot holds a key's entries together)."""

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        self.entries, self.merchant_entries = tables["user_entries"], tables["merchant_entries"]
        self.user_rows = _row_spans(self.entries["user_id"])
        self.merchant_rows = _row_spans(self.merchant_entries["merchant_id"])
        last = tables["user_last"].to_pydict()
        values = zip(last["prev_ts"], last["loc_lat"], last["loc_lon"], last["loc_ts"], strict=True)
        self.last = dict(zip(last["user_id"], values, strict=True))
        # the order `restore_store` puts the keys in: by their entries, then the others
        self.user_order = [*self.user_rows, *(u for u in self.last if u not in self.user_rows)]
        self.merchant_order = list(self.merchant_rows)

    def user(self, user_id: str, into: dict[str, UserState]) -> UserState | None:
        """`user_id`'s state, now also in `into` (None if the snapshot has none)."""
        span, last = self.user_rows.pop(user_id, None), self.last.pop(user_id, None)
        if span is None and last is None:
            return None
        state = into[user_id] = UserState()
        if span is not None:
            rows = self.entries.slice(span[0], span[1] - span[0]).to_pydict()
            state.ts = rows["ts"]
            state.cum = prefix_sums(rows["amount"], 0.0)
            state.merchant, state.country = rows["merchant_id"], rows["country"]
            state.device = rows["device_id"]
            state.last_seen = tuple(_newest(values, state.ts) for values in group_values(state))
        if last is not None:
            prev, lat, lon, lts = last
            state.prev_ts = prev
            state.loc = (lat, lon, lts) if lat is not None else None
        return state

    def merchant(self, merchant_id: str, into: dict[str, MerchantState]) -> MerchantState | None:
        """`merchant_id`'s state, now also in `into` (None if the snapshot has none)."""
        span = self.merchant_rows.pop(merchant_id, None)
        if span is None:
            return None
        rows = self.merchant_entries.slice(span[0], span[1] - span[0]).to_pydict()
        state = into[merchant_id] = MerchantState()
        state.ts = rows["ts"]
        state.cum_fraud = prefix_sums(rows["is_fraud"], 0)
        return state

    def everything(self, users: dict, merchants: dict) -> tuple[dict, dict]:
        """Every key's state, in the order a store restored at once and then updated would
        hold them: the snapshot's keys in `restore_store`'s order (read now if not yet), then
        the keys `users` and `merchants` got since, in theirs."""

        def ordered(order: list[str], known: dict, read) -> dict:
            every = {key: known[key] if key in known else read(key, known) for key in order}
            return every | {key: state for key, state in known.items() if key not in every}

        return ordered(self.user_order, users, self.user), ordered(
            self.merchant_order, merchants, self.merchant
        )


def _row_spans(keys: pa.ChunkedArray) -> dict:
    """Each key's rows [first, past its last), in order of first appearance, for a column that
    holds each key's rows together: found over the dictionary-coded column, so that only one
    Python string per key is made."""
    import pyarrow.compute as pc

    spans: dict = {}
    at = 0
    for chunk in keys.chunks:
        if not len(chunk):
            continue
        coded = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
        indices = coded.indices.cast(pa.int64())
        codes = np.frombuffer(indices.buffers()[1], np.int64, len(indices), indices.offset * 8)
        starts = np.flatnonzero(np.diff(codes, prepend=-1) != 0)
        ends = np.append(starts[1:], len(codes))
        words = coded.dictionary.to_pylist()
        for code, start, end in zip(
            codes[starts].tolist(), starts.tolist(), ends.tolist(), strict=True
        ):
            key = words[code]
            first = spans[key][0] if key in spans and spans[key][1] == at + start else at + start
            spans[key] = (first, at + end)
        at += len(codes)
    return spans


def group_values(state: UserState) -> tuple[list, list, list]:
    return state.merchant, state.country, state.device


def _newest(values: list, ts: list[float]) -> dict:
    newest: dict = {}
    for value, t in zip(values, ts, strict=True):
        if value is not None:
            newest[value] = t  # entries are sorted by time: the last one wins
    return newest
