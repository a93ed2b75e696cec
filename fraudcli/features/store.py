"""The feature store: `lookup` (features before the txn), `update` (then add it), snapshots.

`FeatureStore` is the interface every command goes through; `InMemoryStore` is the embedded
backend. Nothing outside a store assumes the state lives in this process, so a networked
backend (Redis, say) can serve several scoring processes behind the same four methods.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from fraudcli.features.spec import DAY, FEATURE_NAMES, LONGEST_WINDOW, MAX_GAP_HOURS, NEW_WINDOW
from fraudcli.features.state import MerchantState, UserState
from fraudcli.records.schema import Txn

if TYPE_CHECKING:
    import pyarrow as pa

_TWO_PI_BY_DAY = 2.0 * math.pi / DAY
EARTH_KM = 6371.0088
RADIANS_PER_DEGREE = math.pi / 180.0


@dataclass(frozen=True)
class StoreConfig:
    """`label_delay`: seconds before a label is visible to features; `lateness`: how far
    behind a key's newest timestamp a record may arrive and still see exact windows."""

    label_delay: float = 7 * DAY
    lateness: float = DAY

    @property
    def user_horizon(self) -> float:
        return LONGEST_WINDOW + self.lateness

    @property
    def merchant_horizon(self) -> float:
        return self.label_delay + LONGEST_WINDOW + self.lateness


class FeatureStore(Protocol):
    config: StoreConfig

    def lookup(self, txn: Txn) -> list[float]: ...
    def update(self, txn: Txn) -> None: ...
    def snapshot(self) -> dict[str, pa.Table]: ...


class InMemoryStore:
    """The embedded, in-process backend: dicts of per-key state."""

    def __init__(self, config: StoreConfig | None = None) -> None:
        self.config = config or StoreConfig()
        self.users: dict[str, UserState] = {}
        self.merchants: dict[str, MerchantState] = {}
        self._user_horizon = self.config.user_horizon
        self._merchant_horizon = self.config.merchant_horizon
        self._label_delay = self.config.label_delay

    def lookup(self, txn: Txn) -> list[float]:
        """The features of `txn` from the state left by the transactions before it."""
        user = self.users.get(txn.user_id)
        merchant = self.merchants.get(txn.merchant_id) if txn.merchant_id is not None else None
        return [
            *time_features(txn.ts, txn.amount),
            *(first_for_user(txn) if user is None else user_features(user, txn)),
            *(
                _NO_MERCHANT_HISTORY
                if merchant is None
                else merchant_features(merchant, txn.ts - self._label_delay)
            ),
        ]

    def update(self, txn: Txn) -> None:
        """Add `txn` to the state, after its features were looked up."""
        user = self.users.get(txn.user_id)
        if user is None:
            user = self.users[txn.user_id] = UserState()
        horizon = self._user_horizon
        user.add(txn.ts, txn.amount, txn.merchant_id, txn.country, txn.device_id, horizon)
        user.prev_ts = txn.ts
        if txn.lat is not None:
            user.loc = (txn.lat, txn.lon, txn.ts)
        if txn.merchant_id is not None:
            merchant = self.merchants.get(txn.merchant_id)
            if merchant is None:
                merchant = self.merchants[txn.merchant_id] = MerchantState()
            merchant.add(txn.ts, txn.is_fraud or 0, self._merchant_horizon)

    def snapshot(self) -> dict[str, pa.Table]:
        from fraudcli.features.snapshot import snapshot_tables

        return snapshot_tables(self)

    @classmethod
    def restore(cls, tables: dict[str, pa.Table], config: StoreConfig) -> InMemoryStore:
        from fraudcli.features.snapshot import restore_store

        return restore_store(cls(config), tables)


def time_features(t: float, amount: float) -> tuple[float, ...]:
    seconds_of_day = t % DAY
    angle = seconds_of_day * _TWO_PI_BY_DAY
    weekday = (int(t // DAY) + 3) % 7  # 1970-01-01 was a Thursday (3, Monday = 0)
    return (
        amount,
        math.log1p(amount),
        math.sin(angle),
        math.cos(angle),
        1.0 if weekday >= 5 else 0.0,
        1.0 if seconds_of_day < 6 * 3600 else 0.0,
    )


def user_features(user: UserState, txn: Txn) -> tuple[float, ...]:
    """Windows, gap, travel and novelty. Clipping is spelled as conditionals making the very
    comparisons `min` and `max` make (same results, NaN included), without their calls."""
    t, ts, cum = txn.ts, user.ts, user.cum
    hi = len(ts) if not ts or ts[-1] <= t else bisect_right(ts, t)  # in order: all are prior
    lo_1h = bisect_right(ts, t - 3600.0)
    lo_24h = bisect_right(ts, t - DAY)
    lo_7d = bisect_right(ts, t - 7 * DAY)
    lo_30d = bisect_right(ts, t - NEW_WINDOW)
    n24, n7, n30 = hi - lo_24h, hi - lo_7d, hi - lo_30d
    mean30 = (cum[hi] - cum[lo_30d]) / n30 if n30 else 0.0
    gap = MAX_GAP_HOURS
    if user.prev_ts is not None:
        gap = (t - user.prev_ts) / 3600.0
        gap = 0.0 if 0.0 > gap else MAX_GAP_HOURS if MAX_GAP_HOURS < gap else gap
    distance = speed = 0.0
    loc = user.loc
    if loc is not None and txn.lat is not None:
        distance = haversine_km(loc[0], loc[1], txn.lat, txn.lon)
        hours = abs(t - loc[2]) / 3600.0
        speed = distance / (_MINUTE_HOURS if _MINUTE_HOURS > hours else hours)
    return (
        float(hi - lo_1h),
        float(n24),
        float(n7),
        float(n30),
        (cum[hi] - cum[lo_24h]) / n24 if n24 else 0.0,
        (cum[hi] - cum[lo_7d]) / n7 if n7 else 0.0,
        mean30,
        txn.amount / mean30 if mean30 > 0.0 else 1.0,
        gap,
        distance,
        speed,
        *_novelty(user, txn, lo_30d, hi),
    )


def first_for_user(txn: Txn) -> tuple[float, ...]:
    """`user_features` of a user with no state at all: empty windows, every value new."""
    return (
        *_NO_USER_HISTORY,
        0.0 if txn.merchant_id is None else 1.0,
        0.0 if txn.country is None else 1.0,
        0.0 if txn.device_id is None else 1.0,
    )


def _novelty(user: UserState, txn: Txn, lo: int, hi: int) -> tuple[float, float, float]:
    """is_new_{merchant,country,device}_30d: 1 if the value is not among prior txns in 30 days."""
    merchant, country, device = txn.merchant_id, txn.country, txn.device_id
    if hi == len(user.ts):  # every entry is at or before t: newest-seen suffices
        since = txn.ts - NEW_WINDOW
        seen_m, seen_c, seen_d = user.last_seen
        return (
            0.0 if merchant is None or seen_m.get(merchant, since) > since else 1.0,
            0.0 if country is None or seen_c.get(country, since) > since else 1.0,
            0.0 if device is None or seen_d.get(device, since) > since else 1.0,
        )
    return (
        0.0 if merchant is None or merchant in user.merchant[lo:hi] else 1.0,
        0.0 if country is None or country in user.country[lo:hi] else 1.0,
        0.0 if device is None or device in user.device[lo:hi] else 1.0,
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = lat1 * RADIANS_PER_DEGREE, lat2 * RADIANS_PER_DEGREE
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin((lon2 - lon1) * RADIANS_PER_DEGREE / 2) ** 2
    )
    return 2.0 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def merchant_features(merchant: MerchantState, end: float) -> tuple[float, ...]:
    ts, cum = merchant.ts, merchant.cum_fraud
    hi = bisect_right(ts, end)
    lo_1d = bisect_right(ts, end - DAY)
    lo_7d = bisect_right(ts, end - 7 * DAY)
    lo_30d = bisect_right(ts, end - 30 * DAY)
    n1, n7, n30 = hi - lo_1d, hi - lo_7d, hi - lo_30d
    return (
        float(n1),
        float(n7),
        float(n30),
        (cum[hi] - cum[lo_1d]) / n1 if n1 else 0.0,
        (cum[hi] - cum[lo_7d]) / n7 if n7 else 0.0,
        (cum[hi] - cum[lo_30d]) / n30 if n30 else 0.0,
    )


_MINUTE_HOURS = 1.0 / 60.0  # the shortest time speed is measured over
# counts, means, amount/mean, gap, distance, speed of a user never seen
_NO_USER_HISTORY = (0.0,) * 7 + (1.0, MAX_GAP_HOURS, 0.0, 0.0)
_NO_MERCHANT_HISTORY = (0.0,) * 6
N_FEATURES = len(FEATURE_NAMES)


class StoreTimeout(Exception):
    """A feature-store lookup could not answer before the record's deadline."""
