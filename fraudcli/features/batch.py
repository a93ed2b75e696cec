"""The point-in-time features of a whole table at once, for `fraud train` speed.

`InMemoryStore.lookup` then `update`, row by row, is the definition; this is a NumPy
optimisation that gives the same features (to 1e-9, proved on random streams by
`tests/test_batch_features.py`) and the same final store. With timestamps non-decreasing in
input order, "prior in input order" is "earlier in a stable sort by (key, time)", so every
window is two `searchsorted` positions inside a key's group and every sum a prefix difference.

`batch_features` returns None, and the caller falls back to the one-record path, unless:
- timestamps are non-decreasing in input order (no NaN);
- `config.lateness >= 0` and `config.label_delay` is finite, so the entries the store expires
  never fall inside a window;
- every txn with a `lat` has a `lon` (as `validate` guarantees).
Not checked, assumed: amounts are money-like. Window sums are differences of each user's own
prefix sums (`Groups.prefix_sums`: compensated, restarting at every user), so they agree with
the store's float64 prefix sums to the rounding of one user's amounts, not for amounts many
orders of magnitude apart (1e-7 beside 1e6) in one user's history; and a user's features are
the same numbers, to the bit, whatever other users are computed with it (the Dask engine's
partitions by user give the embedded run's values, so training bins them alike).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fraudcli.features.batch_groups import (
    Codes,
    Groups,
    Ranks,
    TxnColumns,
    columns_from_txns,
    stable_order,
)
from fraudcli.features.batch_state import build_store
from fraudcli.features.spec import (
    DAY,
    FEATURE_NAMES,
    MAX_GAP_HOURS,
    MERCHANT_WINDOWS,
    NEW_WINDOW,
    USER_COUNT_WINDOWS,
    USER_MEAN_WINDOWS,
)
from fraudcli.features.store import EARTH_KM, RADIANS_PER_DEGREE, InMemoryStore, StoreConfig
from fraudcli.records.schema import Txn

__all__ = ["BatchResult", "batch_features", "batch_features_columns"]

_TWO_PI_BY_DAY = 2.0 * math.pi / DAY
# the columns of FEATURE_NAMES each side computes: the row's own, its user's, its merchant's
TIME, USER, MERCHANT = slice(0, 6), slice(6, 20), slice(20, 26)


@dataclass(frozen=True)
class BatchResult:
    """`X`: n x 26 features (input order, FEATURE_NAMES order); `store`: the state after all."""

    X: np.ndarray
    store: InMemoryStore


def batch_features(txns: Sequence[Txn], config: StoreConfig) -> BatchResult | None:
    """The features of each txn from those before it, as a fresh store would give them.

    `result = batch_features(txns, config)`: `result.X[i]` is `lookup(txns[i])` after updating
    with `txns[:i]`, and `result.store.lookup(later_txn)` continues from there. None when a
    precondition (module docstring) fails: then look up and update txn by txn instead.
    """
    if not _config_ok(config):
        return None
    return batch_features_columns(columns_from_txns(txns), config)


def batch_features_columns(columns: TxnColumns, config: StoreConfig) -> BatchResult | None:
    """`batch_features` over columns already extracted (see `TxnColumns`)."""
    if not _config_ok(config) or not columns.usable():
        return None
    ranks = Ranks(columns.ts)
    users = Groups(columns.user.codes, columns.ts, ranks)
    merchants = Groups(columns.merchant.codes, columns.ts, ranks)
    X = np.zeros((len(columns.ts), len(FEATURE_NAMES)), dtype=np.float64)
    X[:, TIME] = time_feature_columns(columns.ts, columns.amount)
    X[:, USER] = user_part(columns, users)
    X[:, MERCHANT] = merchant_part(columns, merchants, config.label_delay)
    return BatchResult(X, build_store(columns, users, merchants, config))


def user_part(columns: TxnColumns, users: Groups) -> np.ndarray:
    """The user side (FEATURE_NAMES[USER]: windows, gap, travel, novelty) of every row, input
    order. It reads the rows of each row's own user only, so it can run on any set of whole
    users (the Dask engine's partitions by user)."""
    out = np.empty((len(columns.ts), USER.stop - USER.start), dtype=np.float64)
    users.scatter(user_feature_columns(columns, users), into=out[:, :11])
    for j, values in enumerate((columns.merchant, columns.country, columns.device)):
        out[:, 11 + j] = is_new_columns(columns.user, values, columns.ts)
    return out


def merchant_part(columns: TxnColumns, merchants: Groups, delay: float) -> np.ndarray:
    """The merchant side (FEATURE_NAMES[MERCHANT]) of every row, input order; rows without a
    merchant get zeros, as for a merchant with no history. It reads the rows of each row's own
    merchant only (the Dask engine's partitions by merchant)."""
    out = np.zeros((len(columns.ts), MERCHANT.stop - MERCHANT.start), dtype=np.float64)
    merchants.scatter(merchant_feature_columns(columns, merchants, delay), out)
    return out


def _config_ok(config: StoreConfig) -> bool:
    return config.lateness >= 0.0 and math.isfinite(config.label_delay)


def time_feature_columns(t: np.ndarray, amount: np.ndarray) -> np.ndarray:
    seconds_of_day = np.mod(t, DAY)  # same rounding as Python's float % and //
    angle = seconds_of_day * _TWO_PI_BY_DAY
    weekday = (np.floor_divide(t, DAY) + 3.0) % 7.0
    return np.column_stack(
        [
            amount,
            np.log1p(amount),
            np.sin(angle),
            np.cos(angle),
            (weekday >= 5.0).astype(np.float64),
            (seconds_of_day < 6 * 3600).astype(np.float64),
        ]
    )


def user_feature_columns(
    columns: TxnColumns, users: Groups, places: np.ndarray | None = None, first: int = 0
) -> np.ndarray:
    """Counts, means, ratio, gap, travel (11 columns) of the rows at `places` of the users'
    group order (all rows when None; all of them input rows >= `first`), in that order."""
    places = users.pos if places is None else places
    t = users.ts[places]
    amount = columns.amount[users.order]
    prefix = users.prefix_sums(amount)
    ts = columns.ts[first:]
    lows = {w: users.count_at_most(places, ts - w, first) for w in USER_COUNT_WINDOWS.values()}
    out = np.empty((len(places), 11), dtype=np.float64)
    for j, w in enumerate(USER_COUNT_WINDOWS.values()):
        out[:, j] = places - lows[w]
    for j, w in enumerate(USER_MEAN_WINDOWS.values()):
        total = prefix[places] - prefix[lows[w]]
        out[:, 4 + j] = _ratio(total, places - lows[w], 0.0)
    out[:, 7] = _ratio(amount[places], out[:, 6], 1.0, strict_positive=True)
    previous = np.maximum(places - 1, 0)
    gap = np.clip((t - users.ts[previous]) / 3600.0, 0.0, MAX_GAP_HOURS)
    out[:, 8] = np.where(places > users.start[places], gap, MAX_GAP_HOURS)
    lat, lon = columns.lat[users.order], columns.lon[users.order]
    out[:, 9:11] = _travel(lat, lon, users)[places]
    return out


def _ratio(num: np.ndarray, den: np.ndarray, default: float, strict_positive: bool = False):
    """num / den where den is nonzero (positive with `strict_positive`), else `default`."""
    ok = den > 0 if strict_positive else den != 0
    return np.divide(num, den, out=np.full(len(num), default), where=ok)


def _travel(lat: np.ndarray, lon: np.ndarray, users: Groups) -> np.ndarray:
    """Distance and speed from the user's previous located txn (positions in group order)."""
    out = np.zeros((len(lat), 2), dtype=np.float64)
    previous = users.latest_where(~np.isnan(lat), strictly_before=True)
    rows = np.flatnonzero(~np.isnan(lat) & (previous >= 0))
    before = previous[rows]
    distance = haversine_km(lat[before], lon[before], lat[rows], lon[rows])
    hours = np.maximum(np.abs(users.ts[rows] - users.ts[before]) / 3600.0, 1.0 / 60.0)
    out[rows, 0] = distance
    out[rows, 1] = distance / hours
    return out


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """`store.haversine_km` over arrays, the same expression term by term."""
    p1, p2 = lat1 * RADIANS_PER_DEGREE, lat2 * RADIANS_PER_DEGREE
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin((lon2 - lon1) * RADIANS_PER_DEGREE / 2) ** 2
    )
    return 2.0 * EARTH_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def is_new_columns(user: Codes, values: Codes, ts: np.ndarray) -> np.ndarray:
    """1 where the value is not among the user's prior txns in (t-30d, t]; 0 for None."""
    has = values.codes >= 0
    value = np.where(has, values.codes, len(values.uniques))  # None: a group of its own
    by_value = stable_order(value)
    order = by_value[stable_order(user.codes[by_value])]  # by user, then value, then input
    u, v, t = user.codes[order], value[order], ts[order]
    seen = np.zeros(len(order), dtype=bool)
    # the previous row with the same (user, value) is the newest one: timestamps never decrease
    seen[1:] = (u[1:] == u[:-1]) & (v[1:] == v[:-1]) & (t[:-1] > t[1:] - NEW_WINDOW)
    out = np.empty(len(order), dtype=np.float64)
    out[order] = (~seen & has[order]).astype(np.float64)
    return out


def merchant_feature_columns(
    columns: TxnColumns,
    merchants: Groups,
    delay: float,
    places: np.ndarray | None = None,
    first: int = 0,
    undone: np.ndarray | None = None,
) -> np.ndarray:
    """Counts and fraud rates in (t-d-w, t-d] (6 columns) of the rows at `places` of the
    merchants' group order (all rows when None; all of them input rows >= `first`). `undone`
    (rows x windows) is taken off the fraud counts: label changes a row must not see yet."""
    places = merchants.pos if places is None else places
    frauds = np.concatenate(([0], np.cumsum(columns.label[merchants.order], dtype=np.int64)))
    end = columns.ts[first:] - delay
    hi = np.minimum(places, merchants.count_at_most(places, end, first))  # prior rows only
    out = np.empty((len(places), 6), dtype=np.float64)
    for j, w in enumerate(MERCHANT_WINDOWS.values()):
        lo = np.minimum(hi, merchants.count_at_most(places, end - w, first))
        counted = (
            frauds[hi] - frauds[lo] if undone is None else frauds[hi] - frauds[lo] - undone[:, j]
        )
        out[:, j] = hi - lo
        out[:, 3 + j] = _ratio(counted.astype(np.float64), hi - lo, 0.0)
    return out
