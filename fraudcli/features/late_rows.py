"""Chunks with late rows, for `ColumnState.step`: a row whose timestamp is behind the newest one
before it (the state's or an earlier row's) by less than the store's `lateness`, as a daily file
with a few stragglers has.

The batch kernels want each key's rows in time order, and input order is then time order. So
the stored entries and the chunk's rows are put in time order (input order among equal times)
and the kernels run over that. Point in time means "prior in input order", and the two orders
give the same prior rows for every row but those a late row of the same user passes (an
earlier row with a later time): for those few, the windows and novelty are counted again
from the rows before them in input order (`redo_user_rows`). Gap and travel follow input order
and are redone for every row (`input_gap_travel`). The merchant side needs nothing more when
the label delay is at least the lateness: a late row is then never inside an earlier row's
delayed windows. Entries expire beyond the longest window plus `lateness` behind their key's
newest, so a row late by less than `lateness` still sees every entry its windows hold.
"""

from __future__ import annotations

import numpy as np

from fraudcli.features.batch import haversine_km
from fraudcli.features.batch_groups import stable_order
from fraudcli.features.spec import MAX_GAP_HOURS, NEW_WINDOW, USER_COUNT_WINDOWS

_MINUTE_HOURS = 1.0 / 60.0
_MEANS = (1, 2, 3)  # of USER_COUNT_WINDOWS (24h, 7d, 30d) also have a mean amount


def newest_before(ts: np.ndarray, newest: float) -> np.ndarray:
    """For each row, the newest timestamp before it: the state's (`newest`) or a row's."""
    if not len(ts):
        return ts.copy()
    return np.maximum.accumulate(np.concatenate(([newest], ts[:-1])))


def in_time(ts: np.ndarray, newest: float, lateness: float, label_delay: float) -> bool:
    """Whether every row is in order, or late by less than `lateness`, with a label delay of
    at least `lateness` (so the merchant side stays exact)."""
    before = newest_before(ts, newest)
    late = ts < before
    if not late.any():
        return True
    return label_delay >= lateness and bool((ts[late] > before[late] - lateness).all())


def time_order(ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The permutation putting rows in time order (input order among equal times), and its
    inverse (each row's place in that order)."""
    order = np.argsort(ts, kind="stable")
    where = np.empty_like(order)
    where[order] = np.arange(len(order))
    return order, where


def input_gap_travel(chunk, prev_ts, loc_lat, loc_lon, loc_ts, X: np.ndarray) -> None:
    """`hours_since_user_prev`, `distance_from_prev_km` and `speed_from_prev_kmh` of every row
    from the user's previous row (and previous located row) in input order: the chunk's own, or
    the state's per-user arrays."""
    order = stable_order(chunk.user)
    user, ts = chunk.user[order], chunk.ts[order]
    lat, lon = chunk.lat[order], chunk.lon[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = user[1:] != user[:-1]
    prev = np.where(first, prev_ts[user], np.concatenate(([np.nan], ts[:-1])))
    gap = np.clip((ts - prev) / 3600.0, 0.0, MAX_GAP_HOURS)
    X[order, 14] = np.where(np.isnan(prev), MAX_GAP_HOURS, gap)
    place = np.arange(len(order))
    starts = np.maximum.accumulate(np.where(first, place, 0))
    marked = np.where(~np.isnan(lat), place, -1)
    latest = np.concatenate(([-1], np.maximum.accumulate(marked)[:-1]))  # strictly before
    own = latest >= starts
    at = np.maximum(latest, 0)
    before_lat = np.where(own, lat[at], loc_lat[user])
    before_lon = np.where(own, lon[at], loc_lon[user])
    before_ts = np.where(own, ts[at], loc_ts[user])
    rows = np.flatnonzero(~np.isnan(lat) & ~np.isnan(before_lat))
    distance = haversine_km(before_lat[rows], before_lon[rows], lat[rows], lon[rows])
    hours = np.maximum(np.abs(ts[rows] - before_ts[rows]) / 3600.0, _MINUTE_HOURS)
    X[order, 15:17] = 0.0
    X[order[rows], 15] = distance
    X[order[rows], 16] = distance / hours


def passed_rows(chunk) -> np.ndarray:
    """The rows a later row of the same user (in input order) has an earlier time than."""
    order = stable_order(chunk.user)
    user, ts = chunk.user[order], chunk.ts[order]
    rank = np.unique(ts, return_inverse=True)[1].astype(np.int64)
    # a suffix minimum within each user: each user's shifted ranks lie below all those of the
    # users after it, so going backwards the running minimum is the user's own once reached
    groups = np.cumsum(np.concatenate(([True], user[1:] != user[:-1])))
    shifted = rank + groups * (rank.max() + 1)
    later_min = np.minimum.accumulate(shifted[::-1])[::-1]
    after = np.concatenate((later_min[1:], [np.iinfo(np.int64).max]))
    same = np.concatenate((user[1:] == user[:-1], [False]))
    passed = same & (after < shifted)
    return np.sort(order[passed])


def redo_user_rows(state, chunk, rows: np.ndarray, X: np.ndarray) -> None:
    """Windows (counts, means, ratio) and novelty of `rows` counted from the rows before each
    in input order: the state's entries of its user and the chunk's earlier rows."""
    order = stable_order(chunk.user)
    sorted_users = chunk.user[order]
    for i in rows.tolist():
        user = chunk.user[i]
        lo, hi = np.searchsorted(state.u_user, [user, user + 1])
        a, b = np.searchsorted(sorted_users, [user, user + 1])
        mine = order[a:b]
        mine = mine[mine < i]  # the chunk's rows of this user before row i
        ts = np.concatenate((state.u_ts[lo:hi], chunk.ts[mine]))
        amount = np.concatenate((state.u_amount[lo:hi], chunk.amount[mine]))
        t = chunk.ts[i]
        for j, w in enumerate(USER_COUNT_WINDOWS.values()):
            inside = (ts > t - w) & (ts <= t)
            count = np.count_nonzero(inside)
            X[i, 6 + j] = count
            if j in _MEANS:
                X[i, 9 + j] = amount[inside].sum() / count if count else 0.0
        mean30 = X[i, 12]
        X[i, 13] = chunk.amount[i] / mean30 if mean30 > 0.0 else 1.0
        recent = (ts > t - NEW_WINDOW) & (ts <= t)
        for j, (stored, new) in enumerate(
            ((state.u_merchant, chunk.merchant), (state.u_country, chunk.country),
             (state.u_device, chunk.device))
        ):  # fmt: skip
            value = new[i]
            seen = np.concatenate((stored[lo:hi], new[mine]))[recent]
            X[i, 17 + j] = 0.0 if value < 0 or (seen == value).any() else 1.0
