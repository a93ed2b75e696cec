"""Batch features that continue from a stored state: `fraud score` on files, chunk by chunk.

`ColumnState` is the feature store's state as arrays (the user entries, each user's previous and
previous located txn, the merchant entries) with string keys coded once through `Vocab`s that
grow as new keys arrive (`fraudcli.features.chunk`). `ColumnState.step(chunk)` gives the chunk's
features exactly as `InMemoryStore.lookup` then `update` would, record by record, from the same
state (proved on random streams by `tests/test_continued_features.py`), and moves the state past
the chunk.

How: the stored entries go first and the chunk's rows after them, so each key's group is
[its stored entries, its new rows] and the batch kernels of `fraudcli.features.batch` see exactly
the prior txns each lookup would see. Two things are not in the entries and come from the
per-user arrays: the previous txn in input order (the gap) and the previous located txn (the
travel), for each user's first new row and first located new row.

A chunk is taken only when it can be exact (`step` returns None otherwise, and the caller goes
on record by record from `to_store()`): timestamps in order, or behind the newest before them by
less than the store's `lateness` (`fraudcli.features.late_rows`), every row with a user, lat
and lon together. A step costs time linear in the stored entries plus
the chunk, so chunks should be large (tens of thousands of rows).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.features.batch import (
    MERCHANT,
    USER,
    haversine_km,
    is_new_columns,
    merchant_feature_columns,
    time_feature_columns,
    user_feature_columns,
)
from fraudcli.features.batch_groups import Codes, Groups, Ranks, TxnColumns, stable_order
from fraudcli.features.chunk import Chunk, Vocab
from fraudcli.features.late_rows import (
    in_time,
    input_gap_travel,
    newest_before,
    passed_rows,
    redo_user_rows,
    time_order,
)
from fraudcli.features.snapshot import snapshot_end
from fraudcli.features.spec import FEATURE_NAMES, MAX_GAP_HOURS, MERCHANT_WINDOWS
from fraudcli.features.store import InMemoryStore, StoreConfig

__all__ = ["Chunk", "ColumnState", "Vocab"]

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="features")


def _floats(n: int = 0) -> np.ndarray:
    return np.full(n, np.nan)


def _ints(n: int = 0) -> np.ndarray:
    return np.zeros(n, dtype=np.int64)


@dataclass
class ColumnState:
    """The store's state as arrays. User entries and merchant entries are in group order
    (grouped by key, each key's entries in time order); `prev_ts`, `loc_*` are per user code."""

    config: StoreConfig
    users: Vocab = field(default_factory=Vocab)
    merchants: Vocab = field(default_factory=Vocab)
    countries: Vocab = field(default_factory=Vocab)
    devices: Vocab = field(default_factory=Vocab)
    u_user: np.ndarray = field(default_factory=_ints)
    u_ts: np.ndarray = field(default_factory=_floats)
    u_amount: np.ndarray = field(default_factory=_floats)
    u_merchant: np.ndarray = field(default_factory=_ints)
    u_country: np.ndarray = field(default_factory=_ints)
    u_device: np.ndarray = field(default_factory=_ints)
    prev_ts: np.ndarray = field(default_factory=_floats)
    loc_lat: np.ndarray = field(default_factory=_floats)
    loc_lon: np.ndarray = field(default_factory=_floats)
    loc_ts: np.ndarray = field(default_factory=_floats)
    m_merchant: np.ndarray = field(default_factory=_ints)
    m_ts: np.ndarray = field(default_factory=_floats)
    m_label: np.ndarray = field(default_factory=_ints)
    # labels changed after the fact (`fraudcli.features.labels`): merchant code, entry ts,
    # arrival, new - old; undone for the rows before their arrival
    c_merchant: np.ndarray = field(default_factory=_ints)
    c_ts: np.ndarray = field(default_factory=_floats)
    c_arrival: np.ndarray = field(default_factory=_floats)
    c_change: np.ndarray = field(default_factory=_ints)
    newest: float = -np.inf

    def chunk(self, data: dict[str, pa.Array]) -> Chunk:
        """Code a chunk's columns (schema field names; `ts` as epoch seconds). This touches the
        vocabularies only, so the next chunk may be coded while `step` runs on this one: the
        step then sees longer vocabularies, whose new codes it never meets."""
        n = len(data["ts"])

        def floats(name: str) -> np.ndarray:
            array = data.get(name)
            if array is None:
                return _floats(n)
            return pc.fill_null(array.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False)

        def codes(name: str, vocab: Vocab) -> np.ndarray:
            array = data.get(name)
            return np.full(n, -1, dtype=np.int64) if array is None else vocab.codes(array)

        label = data.get("is_fraud")
        labels = _ints(n) if label is None else pc.fill_null(label, 0).to_numpy()
        return Chunk(
            ts=floats("ts"),
            amount=floats("amount"),
            label=np.asarray(labels, dtype=np.int64),
            lat=floats("lat"),
            lon=floats("lon"),
            user=codes("user_id", self.users),
            merchant=codes("merchant_id", self.merchants),
            country=codes("country", self.countries),
            device=codes("device_id", self.devices),
        )

    def step(self, chunk: Chunk) -> np.ndarray | None:
        """The chunk's features (n x 26, input order), then the state moves past the chunk;
        None (state untouched) when the chunk cannot be done exactly this way."""
        if not self._usable(chunk):
            return None
        n = len(chunk.ts)
        X = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
        if n == 0:
            return X
        self._grow(len(self.users.values))
        # late rows (by less than `lateness`): the kernels run in time order (`late_rows`)
        late = bool((chunk.ts < newest_before(chunk.ts, self.newest)).any())
        # the merchant side and the user side share nothing but the chunk and write other
        # columns of X; NumPy lets go of the GIL in its loops, so on two cores they overlap
        merchants = _POOL.submit(self._merchant_side, chunk, X, late)
        X[:, :6] = time_feature_columns(chunk.ts, chunk.amount)
        users = self._user_side(chunk, X, late)
        self._advance(chunk, users, merchants.result())
        return X

    def step_users(self, chunk: Chunk) -> np.ndarray | None:
        """The user side of `step` alone: the chunk's FEATURE_NAMES[USER] columns (n x 14),
        then the users' state moves past the chunk; None (state untouched) as `step`. A state
        may hold whole users only (the Dask engine's partitions by user): each user's features
        read that user's entries and rows, nothing else."""
        return self._one_side(chunk, USER, self._user_side, self._advance_users)

    def step_merchants(self, chunk: Chunk) -> np.ndarray | None:
        """The merchant side of `step` alone: FEATURE_NAMES[MERCHANT] (n x 6; zeros for rows
        without a merchant), then the merchants' state moves past the chunk; None as `step`."""
        return self._one_side(chunk, MERCHANT, self._merchant_side, self._advance_merchants)

    def _one_side(self, chunk: Chunk, columns: slice, side, advance) -> np.ndarray | None:
        if not self._usable(chunk, users=columns is USER):
            return None
        n = len(chunk.ts)
        X = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float64)
        if n:
            self._grow(len(self.users.values))
            late = bool((chunk.ts < newest_before(chunk.ts, self.newest)).any())
            advance(chunk, side(chunk, X, late))
            self.newest = max(self.newest, float(chunk.ts.max()))
        return X[:, columns]

    def _usable(self, chunk: Chunk, users: bool = True) -> bool:
        """Whether the kernels can do the chunk exactly (`users`: the user side too)."""
        ts, config = chunk.ts, self.config
        config_ok = config.lateness >= 0.0 and np.isfinite(config.label_delay)
        every_user = not users or not (chunk.user < 0).any()
        whole = not users or not (~np.isnan(chunk.lat) & np.isnan(chunk.lon)).any()
        if not (config_ok and every_user and whole) or np.isnan(ts).any():
            return False
        return in_time(ts, self.newest, config.lateness, config.label_delay)

    def _grow(self, n_users: int) -> None:
        extra = n_users - len(self.prev_ts)
        if extra > 0:
            for name in ("prev_ts", "loc_lat", "loc_lon", "loc_ts"):
                setattr(self, name, np.concatenate([getattr(self, name), _floats(extra)]))

    def _user_side(self, chunk: Chunk, X: np.ndarray, late: bool) -> tuple[Groups, TxnColumns]:
        h = len(self.u_ts)
        columns = TxnColumns(
            ts=np.concatenate([self.u_ts, chunk.ts]),
            amount=np.concatenate([self.u_amount, chunk.amount]),
            label=_ints(h + len(chunk.ts)),
            lat=np.concatenate([_floats(h), chunk.lat]),
            lon=np.concatenate([_floats(h), chunk.lon]),
            user=_joined(self.u_user, chunk.user, self.users),
            merchant=_joined(self.u_merchant, chunk.merchant, self.merchants),
            country=_joined(self.u_country, chunk.country, self.countries),
            device=_joined(self.u_device, chunk.device, self.devices),
        )
        rows, at = np.arange(h, h + len(chunk.ts)), np.arange(len(columns.ts))
        if late:
            at, where = time_order(columns.ts)  # `at`: the row at each place of time order
            columns, rows = _taken(columns, at), where[h:]
        novelty = _POOL.submit(self._novelty, columns, rows, X)
        groups = Groups(columns.user.codes, columns.ts, Ranks(columns.ts))
        index = at[groups.order]  # the input row at each place of group order
        places = np.flatnonzero(index >= h)  # the chunk's rows, in group order
        first = 0 if late else h
        X[index[places] - h, 6:17] = user_feature_columns(columns, groups, places, first)
        novelty.result()
        if late:  # gap and travel in input order, and the rows a late row passes
            input_gap_travel(chunk, self.prev_ts, self.loc_lat, self.loc_lon, self.loc_ts, X)
            redo_user_rows(self, chunk, passed_rows(chunk), X)
        else:
            self._from_before(chunk, groups, h, X)
        return groups, columns

    @staticmethod
    def _novelty(columns: TxnColumns, rows: np.ndarray, X: np.ndarray) -> None:
        for j, values in enumerate((columns.merchant, columns.country, columns.device)):
            X[:, 17 + j] = is_new_columns(columns.user, values, columns.ts)[rows]

    def _from_before(self, chunk: Chunk, groups: Groups, h: int, X: np.ndarray) -> None:
        """Gap and travel of the rows whose previous (located) txn is not in the chunk."""
        new = groups.order >= h  # places of the chunk's rows in group order
        first_new = new & ((groups.pos == groups.start) | ~np.roll(new, 1))
        rows = groups.order[first_new] - h
        prev = self.prev_ts[chunk.user[rows]]
        gap = np.clip((chunk.ts[rows] - prev) / 3600.0, 0.0, MAX_GAP_HOURS)
        X[rows, 14] = np.where(np.isnan(prev), MAX_GAP_HOURS, gap)
        located = ~np.isnan(chunk.lat)
        lat_in_group = np.concatenate([np.zeros(h, bool), located])[groups.order]
        earlier = groups.latest_where(lat_in_group, strictly_before=True)
        rows = groups.order[new & lat_in_group & (earlier < 0)] - h
        user = chunk.user[rows]
        known = ~np.isnan(self.loc_lat[user])
        rows, user = rows[known], user[known]
        lat, lon = self.loc_lat[user], self.loc_lon[user]
        distance = haversine_km(lat, lon, chunk.lat[rows], chunk.lon[rows])
        hours = np.maximum(np.abs(chunk.ts[rows] - self.loc_ts[user]) / 3600.0, 1.0 / 60.0)
        X[rows, 15] = distance
        X[rows, 16] = distance / hours

    def _merchant_side(self, chunk: Chunk, X: np.ndarray, late: bool) -> tuple[Groups, TxnColumns]:
        h = len(self.m_ts)
        ts = np.concatenate([self.m_ts, chunk.ts])
        codes = np.concatenate([self.m_merchant, chunk.merchant])
        labels = np.concatenate([self.m_label, chunk.label])
        at = np.arange(len(ts))
        if late:  # in time order: exact, as a late row is never in an earlier row's windows
            at, _ = time_order(ts)
            ts, codes, labels = ts[at], codes[at], labels[at]
        columns = TxnColumns(
            ts=ts,
            amount=ts,
            label=labels,
            lat=ts,
            lon=ts,
            user=Codes(codes, self.merchants.values),
            merchant=Codes(codes, self.merchants.values),
            country=Codes(codes, self.merchants.values),
            device=Codes(codes, self.merchants.values),
        )
        groups = Groups(codes, ts, Ranks(ts))
        index = at[groups.order]  # the input row at each place of group order
        places = np.flatnonzero(index >= h)  # rows without a merchant keep zeros
        delay = self.config.label_delay
        undone = self._labels_undone(chunk, groups, places, index[places] - h)
        X[index[places] - h, 20:] = merchant_feature_columns(
            columns, groups, delay, places, 0 if late else h, undone
        )
        return groups, columns

    def _labels_undone(self, chunk: Chunk, groups: Groups, places, rows) -> np.ndarray | None:
        """Per row at `places` (the chunk's `rows`) and merchant window, new - old of the label
        changes in the window that arrived after the row's time (no row is later than the
        lateness, so the horizon's floor never binds here); None when there are none."""
        pending = np.flatnonzero(self.c_arrival > chunk.ts.min()) if len(chunk.ts) else []
        if not len(pending):
            return None
        codes = groups.group[places]
        t = chunk.ts[rows]
        end = t - self.config.label_delay
        out = np.zeros((len(places), len(MERCHANT_WINDOWS)), dtype=np.int64)
        for k in pending.tolist():
            a, b = np.searchsorted(codes, [self.c_merchant[k], self.c_merchant[k] + 1])
            entry_ts = self.c_ts[k]
            seen = (self.c_arrival[k] > t[a:b]) & (entry_ts <= end[a:b])
            for j, width in enumerate(MERCHANT_WINDOWS.values()):
                out[a:b, j] += np.where(seen & (entry_ts > end[a:b] - width), self.c_change[k], 0)
        return out

    def _advance(self, chunk: Chunk, users, merchants) -> None:
        """Keep the entries a later lookup can see; record each user's previous txns."""
        self._advance_users(chunk, users)
        self._advance_merchants(chunk, merchants)
        self.newest = max(self.newest, float(chunk.ts.max()))

    def _advance_users(self, chunk: Chunk, users) -> None:
        groups, columns = users
        rows = groups.order[_kept(groups, self.config.user_horizon)]
        self.u_user = columns.user.codes[rows]
        self.u_ts, self.u_amount = columns.ts[rows], columns.amount[rows]
        self.u_merchant = columns.merchant.codes[rows]
        self.u_country, self.u_device = columns.country.codes[rows], columns.device.codes[rows]
        last = _last_of_each(chunk.user)
        self.prev_ts[chunk.user[last]] = chunk.ts[last]
        located = np.flatnonzero(~np.isnan(chunk.lat))
        last = located[_last_of_each(chunk.user[located])]
        user = chunk.user[last]
        self.loc_lat[user], self.loc_lon[user] = chunk.lat[last], chunk.lon[last]
        self.loc_ts[user] = chunk.ts[last]

    def _advance_merchants(self, chunk: Chunk, merchants) -> None:
        groups, columns = merchants
        horizon = self.config.merchant_horizon
        rows = groups.order[_kept(groups, horizon)]
        self.m_merchant, self.m_ts = columns.merchant.codes[rows], columns.ts[rows]
        self.m_label = columns.label[rows]
        if len(self.c_ts):  # a change expires with its entry
            newest = np.full(len(self.merchants.values), -np.inf)
            newest[groups.group] = groups.ts[groups.end]
            kept = self.c_ts > newest[self.c_merchant] - horizon
            for name in ("c_merchant", "c_ts", "c_arrival", "c_change"):
                setattr(self, name, getattr(self, name)[kept])

    # --- to and from the snapshot tables of `fraudcli.features.snapshot` ----------------------

    @classmethod
    def from_snapshot(cls, tables: dict[str, pa.Table], config: StoreConfig) -> ColumnState:
        state = cls(config)
        entries = tables["user_entries"]
        state.u_user = state.users.codes(entries["user_id"])
        state.u_ts = entries["ts"].to_numpy()
        state.u_amount = entries["amount"].to_numpy()
        state.u_merchant = state.merchants.codes(entries["merchant_id"])
        state.u_country = state.countries.codes(entries["country"])
        state.u_device = state.devices.codes(entries["device_id"])
        last = tables["user_last"]
        user = state.users.codes(last["user_id"])
        state._grow(len(state.users.values))
        for name in ("prev_ts", "loc_lat", "loc_lon", "loc_ts"):
            getattr(state, name)[user] = _nan_filled(last[name])
        merchants = tables["merchant_entries"]
        state.m_merchant = state.merchants.codes(merchants["merchant_id"])
        state.m_ts = merchants["ts"].to_numpy()
        state.m_label = pc.fill_null(merchants["is_fraud"], 0).to_numpy().astype(np.int64)
        changes = tables.get("label_changes")
        if changes is not None and changes.num_rows:
            state.c_merchant = state.merchants.codes(changes["merchant_id"])
            state.c_ts, state.c_arrival = (
                _nan_filled(changes["ts"]),
                _nan_filled(changes["arrival"]),
            )
            state.c_change = changes["change"].to_numpy().astype(np.int64)
        state.newest = snapshot_end(tables)
        return state

    def to_store(self) -> InMemoryStore:
        """The same state as a one-record store (to go on record by record). It has no id
        registry: duplicates are the caller's (`BlockDuplicates`) to drop."""
        return InMemoryStore.restore(self.snapshot(), self.config, dedupe=False)

    def snapshot(self) -> dict[str, pa.Table]:
        known = np.flatnonzero(~np.isnan(self.prev_ts))
        located = ~np.isnan(self.loc_lat[known])
        return {
            "user_entries": pa.table(
                {
                    "user_id": pa.array(self.users.words(self.u_user), pa.string()),
                    "ts": pa.array(self.u_ts, pa.float64()),
                    "amount": pa.array(self.u_amount, pa.float64()),
                    "merchant_id": pa.array(self.merchants.words(self.u_merchant), pa.string()),
                    "country": pa.array(self.countries.words(self.u_country), pa.string()),
                    "device_id": pa.array(self.devices.words(self.u_device), pa.string()),
                }
            ),
            "user_last": pa.table(
                {
                    "user_id": pa.array(self.users.words(known), pa.string()),
                    "prev_ts": pa.array(self.prev_ts[known], pa.float64()),
                    "loc_lat": pa.array(self.loc_lat[known], pa.float64(), mask=~located),
                    "loc_lon": pa.array(self.loc_lon[known], pa.float64(), mask=~located),
                    "loc_ts": pa.array(self.loc_ts[known], pa.float64(), mask=~located),
                }
            ),
            "merchant_entries": pa.table(
                {
                    "merchant_id": pa.array(self.merchants.words(self.m_merchant), pa.string()),
                    "ts": pa.array(self.m_ts, pa.float64()),
                    "is_fraud": pa.array(self.m_label.astype(np.int8), pa.int8()),
                }
            ),
            "label_changes": pa.table(
                {
                    "merchant_id": pa.array(self.merchants.words(self.c_merchant), pa.string()),
                    "ts": pa.array(self.c_ts, pa.float64()),
                    "arrival": pa.array(self.c_arrival, pa.float64()),
                    "change": pa.array(self.c_change.astype(np.int8), pa.int8()),
                }
            ),
        }


def _taken(columns: TxnColumns, rows: np.ndarray) -> TxnColumns:
    """`columns` with every array taken at `rows`."""
    codes = {name: Codes(getattr(columns, name).codes[rows], getattr(columns, name).uniques)
             for name in ("user", "merchant", "country", "device")}  # fmt: skip
    return TxnColumns(columns.ts[rows], columns.amount[rows], columns.label[rows],
                      columns.lat[rows], columns.lon[rows], **codes)  # fmt: skip


def _joined(stored: np.ndarray, new: np.ndarray, vocab: Vocab) -> Codes:
    return Codes(np.concatenate([stored, new]), vocab.values)


def _kept(groups: Groups, horizon: float) -> np.ndarray:
    """Group-order mask of the entries within `horizon` of their group's newest."""
    return groups.ts > groups.ts[groups.end] - horizon


def _last_of_each(keys: np.ndarray) -> np.ndarray:
    """Indices of the last occurrence of each distinct key (codes >= 0), by a stable radix
    sort rather than `np.unique`'s comparison sort."""
    order = stable_order(keys)
    grouped = keys[order]
    return order[np.flatnonzero(np.diff(grouped, append=grouped[-1:] + 1))]


def _nan_filled(column: pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy()
