"""The feature store: `observe` (duplicate check, features before the txn, then add it),
`lookup` and `update` (its halves), `label` (labels after the fact), snapshots.

`FeatureStore` is the interface every command goes through; `InMemoryStore` is the embedded
backend. Nothing outside a store assumes the state lives in this process, so a networked
backend (Redis, say) can serve several scoring processes behind the same methods.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from math import asin, cos, log1p, sin, sqrt
from typing import TYPE_CHECKING, Protocol

from fraudcli.features.spec import (
    DAY,
    FEATURE_NAMES,
    LONGEST_WINDOW,
    MAX_GAP_HOURS,
    MERCHANT_WINDOWS,
    NEW_WINDOW,
)
from fraudcli.features.state import MerchantState, UserState
from fraudcli.records.schema import Txn

if TYPE_CHECKING:
    import pyarrow as pa

    from fraudcli.records.labels import Label

_TWO_PI_BY_DAY = 2.0 * math.pi / DAY
EARTH_KM = 6371.0088
RADIANS_PER_DEGREE = math.pi / 180.0


@dataclass(frozen=True)
class StoreConfig:
    """`label_delay`: seconds before a label is visible to features; `lateness`: how far
    behind a key's newest timestamp a record may arrive and still see its full windows (a
    later one sees only the entries within the horizon of that newest, see `spec`);
    `dedupe_window`: how far back in event time a repeated transaction_id is a duplicate
    (None: the merchant horizon, so a label can always find its transaction)."""

    label_delay: float = 7 * DAY
    lateness: float = DAY
    dedupe_window: float | None = None

    @property
    def user_horizon(self) -> float:
        return LONGEST_WINDOW + self.lateness

    @property
    def merchant_horizon(self) -> float:
        return self.label_delay + LONGEST_WINDOW + self.lateness

    @property
    def id_window(self) -> float:
        """W of the duplicate rule (`fraudcli.records.id_registry`)."""
        return self.merchant_horizon if self.dedupe_window is None else self.dedupe_window

    def to_dict(self) -> dict[str, float]:
        """The settings as a bundle's or a state's manifest records them (the dedupe window
        only when set: a bundle with the default one reads as before)."""
        out = {"label_delay": self.label_delay, "lateness": self.lateness}
        if self.dedupe_window is not None:
            out["dedupe_window"] = self.dedupe_window
        return out


class FeatureStore(Protocol):
    """The one seam between the pipeline and where the state lives. A backend implements
    these; nothing outside it assumes the state is in this process.

    - `observe(txn)`: the record path's one call: None when `txn` is a duplicate (the rule of
      `fraudcli.records.id_registry`; nothing changes), else its features from the state
      before it, after which the state holds it (`lookup` then `update`, as one step: a shared
      backend does the three atomically, in one round trip). `lookup=False` skips the
      features (a rules-only decision) and returns [].
    - `lookup(txn)` / `update(txn)`: the two halves, without the duplicate check.
    - `label(labels)`: labels after the fact (`fraudcli.features.labels`); an outcome each.
    - `snapshot()`: the state as Arrow tables (`fraudcli.features.snapshot`); a backend is
      made from them by its `restore(tables, config)`.
    - `newest`: the newest event time the state holds.
    """

    config: StoreConfig
    newest: float

    def observe(self, txn: Txn, lookup: bool = True) -> list[float] | None: ...
    def lookup(self, txn: Txn) -> list[float]: ...
    def update(self, txn: Txn) -> None: ...
    def label(self, labels: Sequence[Label]) -> list[str]: ...
    def snapshot(self) -> dict[str, pa.Table]: ...


class InMemoryStore:
    """The embedded, in-process backend: dicts of per-key state, and the registry of the ids
    it has accepted (`ids`; None when the caller drops duplicates itself). A store restored
    from a snapshot reads a key's state from the snapshot's tables when the key is first
    touched (`fraudcli.features.snapshot.StoredState`): starting costs no Python object per
    entry."""

    def __init__(self, config: StoreConfig | None = None, *, dedupe: bool = True) -> None:
        self.config = config or StoreConfig()
        self._users: dict[str, UserState] = {}
        self._merchants: dict[str, MerchantState] = {}
        self._stored = None  # a `StoredState` whose keys are not all read yet
        self.ids = _registry(self.config.id_window) if dedupe else None
        self.newest = -math.inf
        self._user_horizon = self.config.user_horizon
        self._merchant_horizon = self.config.merchant_horizon
        self._label_delay = self.config.label_delay
        self._lateness = self.config.lateness

    @property
    def users(self) -> dict[str, UserState]:
        """Every user's state, in the order a store restored at once would hold them."""
        self._read_stored()
        return self._users

    @users.setter
    def users(self, users: dict[str, UserState]) -> None:
        self._read_stored()
        self._users = users

    @property
    def merchants(self) -> dict[str, MerchantState]:
        self._read_stored()
        return self._merchants

    @merchants.setter
    def merchants(self, merchants: dict[str, MerchantState]) -> None:
        self._read_stored()
        self._merchants = merchants

    def _read_stored(self) -> None:
        if self._stored is not None:
            stored, self._stored = self._stored, None
            self._users, self._merchants = stored.everything(self._users, self._merchants)

    def _user(self, user_id: str) -> UserState | None:
        user = self._users.get(user_id)
        if user is None and self._stored is not None:
            user = self._stored.user(user_id, self._users)
        return user

    def _merchant(self, merchant_id: str | None) -> MerchantState | None:
        if merchant_id is None:
            return None
        merchant = self._merchants.get(merchant_id)
        if merchant is None and self._stored is not None:
            merchant = self._stored.merchant(merchant_id, self._merchants)
        return merchant

    def observe(self, txn: Txn, lookup: bool = True) -> list[float] | None:
        """None for a duplicate; else the features of `txn` (`lookup`), then `update`: in one
        pass, each key looked up once (the record path's hot loop)."""
        if not lookup:
            ids = self.ids
            if ids is not None and not ids.admit(
                txn.transaction_id, txn.ts, txn.merchant_id, txn.is_fraud
            ):
                return None
            self.update(txn)
            return []
        return self.observe_values(
            txn.transaction_id, txn.user_id, txn.ts, txn.amount, txn.merchant_id, txn.country,
            txn.device_id, txn.lat, txn.lon, txn.is_fraud,
        )  # fmt: skip

    def observe_values(
        self, transaction_id, user_id, t, amount, merchant_id, country, device_id, lat, lon, label
    ) -> list[float] | None:
        """`observe` of a record given as its values (no `Txn` needed: a batch's columns)."""
        ids = self.ids
        if ids is not None and not ids.admit(transaction_id, t, merchant_id, label):
            return None
        user = self._user(user_id)
        merchant = self._merchant(merchant_id)
        lateness = self._lateness
        features = [
            *time_features(t, amount),
            *(
                first_row(merchant_id, country, device_id)
                if user is None
                else user_row(user, t, amount, lat, lon, merchant_id, country, device_id, lateness)
            ),
            *(
                _NO_MERCHANT_HISTORY
                if merchant is None
                else merchant_features(merchant, t, self._label_delay, lateness)
            ),
        ]
        if t > self.newest:
            self.newest = t
        if user is None:
            user = self._users[user_id] = UserState()
        user.add(t, amount, merchant_id, country, device_id, self._user_horizon)
        user.prev_ts = t
        if lat is not None:
            user.loc = (lat, lon, t)
        if merchant_id is not None:
            if merchant is None:
                merchant = self._merchants[merchant_id] = MerchantState()
            merchant.add(t, label or 0, self._merchant_horizon)
        return features

    def lookup(self, txn: Txn) -> list[float]:
        """The features of `txn` from the state left by the transactions before it."""
        user = self._user(txn.user_id)
        merchant = self._merchant(txn.merchant_id)
        lateness = self._lateness
        return [
            *time_features(txn.ts, txn.amount),
            *(first_for_user(txn) if user is None else user_features(user, txn, lateness)),
            *(
                _NO_MERCHANT_HISTORY
                if merchant is None
                else merchant_features(merchant, txn.ts, self._label_delay, lateness)
            ),
        ]

    def update(self, txn: Txn) -> None:
        """Add `txn` to the state, after its features were looked up."""
        if txn.ts > self.newest:
            self.newest = txn.ts
        user = self._user(txn.user_id)
        if user is None:
            user = self._users[txn.user_id] = UserState()
        horizon = self._user_horizon
        user.add(txn.ts, txn.amount, txn.merchant_id, txn.country, txn.device_id, horizon)
        user.prev_ts = txn.ts
        if txn.lat is not None:
            user.loc = (txn.lat, txn.lon, txn.ts)
        if txn.merchant_id is not None:
            merchant = self._merchant(txn.merchant_id)
            if merchant is None:
                merchant = self._merchants[txn.merchant_id] = MerchantState()
            merchant.add(txn.ts, txn.is_fraud or 0, self._merchant_horizon)

    def label(self, labels: Sequence[Label]) -> list[str]:
        """Labels after the fact: each one's outcome (`fraudcli.features.labels`). A label
        without a `label_time` arrives at the state's newest event time."""
        from fraudcli.features.labels import apply_labels

        ids = self.ids if self.ids is not None else _registry(self.config.id_window)
        return apply_labels(ids, self.merchants, labels, self.newest, self._label_delay)

    def snapshot(self) -> dict[str, pa.Table]:
        from fraudcli.features.snapshot import snapshot_tables

        if self._stored is None:
            return snapshot_tables(self)
        tables = self._stored.tables_with(self._users, self._merchants)  # (keys not read yet)
        if self.ids is not None:
            tables["transactions"] = self.ids.table()
        return tables

    def column_tables(self) -> dict[str, pa.Table]:
        """The feature tables the column path continues from (`ColumnState.from_snapshot`):
        the state `snapshot` gives, without the id registry, and keys never touched taken from
        the stored tables as they are (no Python object made for them)."""
        from fraudcli.features.snapshot import column_tables

        return column_tables(self._users, self._merchants, self._stored)

    @classmethod
    def restore(
        cls, tables: dict[str, pa.Table], config: StoreConfig, *, dedupe: bool = True
    ) -> InMemoryStore:
        """The store a snapshot's tables hold (`snapshot.restore_store` builds the same at
        once); each key is read from them when first touched."""
        from fraudcli.features.snapshot import StoredState, stored_newest

        store = cls(config, dedupe=dedupe)
        store._stored = StoredState(tables)
        store.newest = stored_newest(tables)
        if store.ids is not None:
            from fraudcli.records.id_registry import IdRegistry

            store.ids = IdRegistry.from_table(
                tables.get("transactions"), config.id_window, store.newest
            )
        return store

    def warm(self) -> None:
        """Do now what the first records would otherwise pay for: read every stored key into
        Python objects and make the id registry's filter (replay, before its clock)."""
        self._read_stored()
        if self.ids is not None:
            self.ids.warm()

    def is_empty(self) -> bool:
        return not self.users and not self.merchants

    def take_state(self, other: InMemoryStore) -> None:
        """Hold `other`'s entries (a store the batch path built for this one)."""
        self.users, self.merchants = other.users, other.merchants
        self.newest = max(self.newest, other.newest)


def _registry(window: float):
    """An empty id registry (imported here: it loads NumPy and Arrow, which `fraud --help` and
    reading a fraud.toml need not)."""
    from fraudcli.records.id_registry import IdRegistry

    return IdRegistry(window)


def time_features(t: float, amount: float) -> tuple[float, ...]:
    seconds_of_day = t % DAY
    angle = seconds_of_day * _TWO_PI_BY_DAY
    weekday = (int(t // DAY) + 3) % 7  # 1970-01-01 was a Thursday (3, Monday = 0)
    return (
        amount,
        log1p(amount),
        sin(angle),
        cos(angle),
        1.0 if weekday >= 5 else 0.0,
        1.0 if seconds_of_day < 21600.0 else 0.0,  # before 06:00
    )


def user_features(user: UserState, txn: Txn, lateness: float = DAY) -> tuple[float, ...]:
    """Windows, gap, travel and novelty of `txn` from its user's state (`user_row`)."""
    return user_row(
        user, txn.ts, txn.amount, txn.lat, txn.lon, txn.merchant_id, txn.country, txn.device_id,
        lateness,
    )  # fmt: skip


def user_row(
    user: UserState, t, amount, lat, lon, merchant, country, device, lateness: float = DAY
) -> tuple:
    """`user_features` of a record given as its values. Clipping is spelled as conditionals
    making the very comparisons `min` and `max` make (same results, NaN included), without
    their calls; the novelty is written out here rather than called (one record at a time, a
    call costs as much as the arithmetic).

    A record more than `lateness` behind the user's newest entry N sees only the entries after
    N - (30 days + lateness) (`spec`: what expiry may have removed, whether it has or not)."""
    ts, cum = user.ts, user.cum
    n = len(ts)
    hi = n if not n or ts[-1] <= t else bisect_right(ts, t)  # in order: all are prior
    lo_30d = bisect_right(ts, t - NEW_WINDOW, 0, hi)  # the windows nest: narrower searches
    lo_7d = bisect_right(ts, t - _WEEK, lo_30d, hi)
    lo_24h = bisect_right(ts, t - DAY, lo_7d, hi)
    lo_1h = bisect_right(ts, t - 3600.0, lo_24h, hi)
    if n and t < ts[-1] - lateness:  # late: the horizon's floor, one more bisection
        floor = bisect_right(ts, ts[-1] - LONGEST_WINDOW - lateness)
        lo_1h, lo_24h = max(lo_1h, floor), max(lo_24h, floor)
        lo_7d, lo_30d = max(lo_7d, floor), max(lo_30d, floor)
    n24, n7, n30 = hi - lo_24h, hi - lo_7d, hi - lo_30d
    top = cum[hi]
    mean30 = (top - cum[lo_30d]) / n30 if n30 else 0.0
    gap, distance, speed = travel(t, user.prev_ts, user.loc, lat, lon)
    if hi == n:  # every entry is at or before t: newest-seen answers novelty
        since = t - NEW_WINDOW
        seen_m, seen_c, seen_d = user.last_seen
        new_m = 0.0 if merchant is None or seen_m.get(merchant, since) > since else 1.0
        new_c = 0.0 if country is None or seen_c.get(country, since) > since else 1.0
        new_d = 0.0 if device is None or seen_d.get(device, since) > since else 1.0
    else:
        new_m = 0.0 if merchant is None or merchant in user.merchant[lo_30d:hi] else 1.0
        new_c = 0.0 if country is None or country in user.country[lo_30d:hi] else 1.0
        new_d = 0.0 if device is None or device in user.device[lo_30d:hi] else 1.0
    return (
        float(hi - lo_1h),
        float(n24),
        float(n7),
        float(n30),
        (top - cum[lo_24h]) / n24 if n24 else 0.0,
        (top - cum[lo_7d]) / n7 if n7 else 0.0,
        mean30,
        amount / mean30 if mean30 > 0.0 else 1.0,
        gap,
        distance,
        speed,
        new_m,
        new_c,
        new_d,
    )


def travel(t: float, prev_ts, loc, lat, lon) -> tuple[float, float, float]:
    """hours_since_user_prev (clipped to [0, MAX_GAP_HOURS]), distance_from_prev_km and
    speed_from_prev_kmh of a record at `t`, (`lat`, `lon`), after the user's previous record
    at `prev_ts` and previous located one `loc` = (lat, lon, ts): for every backend. Clipping
    is spelled as conditionals making the very comparisons `min` and `max` make, and the
    distance is `haversine_km` written out (one record at a time, a call costs as much)."""
    gap = MAX_GAP_HOURS
    if prev_ts is not None:
        gap = (t - prev_ts) / 3600.0
        gap = 0.0 if 0.0 > gap else MAX_GAP_HOURS if MAX_GAP_HOURS < gap else gap
    if loc is None or lat is None:
        return gap, 0.0, 0.0
    p1, p2 = loc[0] * RADIANS_PER_DEGREE, lat * RADIANS_PER_DEGREE
    a = (
        sin((p2 - p1) / 2) ** 2
        + cos(p1) * cos(p2) * sin((lon - loc[1]) * RADIANS_PER_DEGREE / 2) ** 2
    )
    distance = 2.0 * EARTH_KM * asin(min(1.0, sqrt(a)))
    hours = abs(t - loc[2]) / 3600.0
    return gap, distance, distance / (_MINUTE_HOURS if _MINUTE_HOURS > hours else hours)


def first_for_user(txn: Txn) -> tuple[float, ...]:
    """`user_features` of a user with no state at all: empty windows, every value new."""
    return first_row(txn.merchant_id, txn.country, txn.device_id)


def first_row(merchant, country, device) -> tuple[float, ...]:
    """`first_for_user` of a record given as its values."""
    return (
        *_NO_USER_HISTORY,
        0.0 if merchant is None else 1.0,
        0.0 if country is None else 1.0,
        0.0 if device is None else 1.0,
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = lat1 * RADIANS_PER_DEGREE, lat2 * RADIANS_PER_DEGREE
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin((lon2 - lon1) * RADIANS_PER_DEGREE / 2) ** 2
    )
    return 2.0 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def merchant_features(
    merchant: MerchantState, t: float, delay: float, lateness: float = DAY
) -> tuple[float, ...]:
    """Counts and fraud rates over (t-d-w, t-d]. A record more than `lateness` behind the
    merchant's newest entry N sees only the entries after N - (d + 30 days + lateness), and
    a label that arrived after t not at all (its entry counts with the label it had then)."""
    ts, cum, end = merchant.ts, merchant.cum_fraud, t - delay
    hi = bisect_right(ts, end)
    lo_30d = bisect_right(ts, end - _MONTH, 0, hi)  # the windows nest: narrower searches
    lo_7d = bisect_right(ts, end - _WEEK, lo_30d, hi)
    lo_1d = bisect_right(ts, end - DAY, lo_7d, hi)
    floor = -math.inf
    if ts and t < ts[-1] - lateness:  # late: the horizon's floor, one more bisection
        floor = ts[-1] - delay - LONGEST_WINDOW - lateness
        low = bisect_right(ts, floor)
        lo_1d, lo_7d, lo_30d = max(lo_1d, low), max(lo_7d, low), max(lo_30d, low)
    n1, n7, n30 = hi - lo_1d, hi - lo_7d, hi - lo_30d
    top = cum[hi]
    f1, f7, f30 = top - cum[lo_1d], top - cum[lo_7d], top - cum[lo_30d]
    if merchant.last_arrival > t:  # labels changed after t: count them as they were
        f1, f7, f30 = label_corrected(merchant.changes, t, end, floor, (f1, f7, f30))
    return (
        float(n1),
        float(n7),
        float(n30),
        f1 / n1 if n1 else 0.0,
        f7 / n7 if n7 else 0.0,
        f30 / n30 if n30 else 0.0,
    )


def label_corrected(changes, t: float, end: float, floor: float, frauds) -> list[int]:
    """The fraud counts of the windows (max(end - w, floor), end] with each label change that
    arrived after `t` undone (old - new added back), for the windows holding its entry."""
    out = list(frauds)
    for entry_ts, arrival, delta in changes:
        if arrival > t and floor < entry_ts <= end:
            for j, width in enumerate(MERCHANT_WINDOWS.values()):
                if entry_ts > end - width:
                    out[j] -= delta
    return out


_MINUTE_HOURS = 1.0 / 60.0  # the shortest time speed is measured over
_WEEK, _MONTH = 7 * DAY, 30 * DAY
# counts, means, amount/mean, gap, distance, speed of a user never seen
_NO_USER_HISTORY = (0.0,) * 7 + (1.0, MAX_GAP_HOURS, 0.0, 0.0)
_NO_MERCHANT_HISTORY = (0.0,) * 6
N_FEATURES = len(FEATURE_NAMES)


class StoreTimeout(Exception):
    """A feature-store lookup could not answer before the record's deadline."""
