"""The feature store against the definitions, written out naively, on random streams."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.features.spec import DAY, FEATURE_NAMES, MAX_GAP_HOURS
from fraudcli.features.state import UserState, prune_at
from fraudcli.features.store import (
    InMemoryStore,
    StoreConfig,
    first_for_user,
    haversine_km,
    user_features,
)
from fraudcli.records.schema import Txn

T0 = 1767225600.0  # 2026-01-01T00:00:00Z, a Thursday


def txn(i, ts, user="u", amount=10.0, merchant="m", country="US", device="d", label=0, loc=None):
    lat, lon = loc if loc else (None, None)
    return Txn(f"t{i}", ts, user, amount, merchant, None, country, lat, lon, device, None, label)


def run(stream, config=None):
    store = InMemoryStore(config or StoreConfig())
    out = []
    for t in stream:
        out.append(dict(zip(FEATURE_NAMES, store.lookup(t), strict=True)))
        store.update(t)
    return out, store


def naive(stream, config):
    """Each feature straight from its definition over the prior records (input order): a
    window (a, b] holds the prior records with a < ts <= b and, for a record more than
    `lateness` behind its key's newest prior N, ts > N - horizon. Nothing is ever pruned."""
    out = []
    for i, t in enumerate(stream):
        prior = stream[:i]
        user = [p for p in prior if p.user_id == t.user_id]
        floor = max((p.ts for p in user), default=-math.inf) - 30 * DAY - config.lateness
        f = {}
        for name, w in (("1h", 3600), ("24h", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY)):
            inside = [p for p in user if max(t.ts - w, floor) < p.ts <= t.ts]
            f[f"user_txn_count_{name}"] = float(len(inside))
            if name != "1h":
                f[f"user_amount_mean_{name}"] = (
                    sum(p.amount for p in inside) / len(inside) if inside else 0.0
                )
        month = [p for p in user if max(t.ts - 30 * DAY, floor) < p.ts <= t.ts]
        mean30 = f["user_amount_mean_30d"]
        f["amount_to_user_mean_30d"] = t.amount / mean30 if mean30 > 0 else 1.0
        f["hours_since_user_prev"] = (
            min(max((t.ts - user[-1].ts) / 3600, 0.0), MAX_GAP_HOURS) if user else MAX_GAP_HOURS
        )
        for field, name in (
            ("merchant_id", "merchant"),
            ("country", "country"),
            ("device_id", "device"),
        ):
            value = getattr(t, field)
            seen = {getattr(p, field) for p in month}
            f[f"is_new_{name}_30d"] = 0.0 if value is None or value in seen else 1.0
        located = [p for p in user if p.lat is not None]
        if located and t.lat is not None:
            last = located[-1]
            dist = haversine_km(last.lat, last.lon, t.lat, t.lon)
            f["distance_from_prev_km"] = dist
            f["speed_from_prev_kmh"] = dist / max(abs(t.ts - last.ts) / 3600, 1 / 60)
        else:
            f["distance_from_prev_km"] = f["speed_from_prev_kmh"] = 0.0
        d = config.label_delay
        merchant = [
            p for p in prior if t.merchant_id is not None and p.merchant_id == t.merchant_id
        ]
        newest = max((p.ts for p in merchant), default=-math.inf)
        floor = newest - d - 30 * DAY - config.lateness
        for name, w in (("1d", DAY), ("7d", 7 * DAY), ("30d", 30 * DAY)):
            inside = [p for p in merchant if max(t.ts - d - w, floor) < p.ts <= t.ts - d]
            f[f"merchant_txn_count_{name}"] = float(len(inside))
            frauds = sum(p.is_fraud or 0 for p in inside)
            f[f"merchant_fraud_rate_{name}"] = frauds / len(inside) if inside else 0.0
        out.append(f)
    return out


def assert_close(got, want):
    for g, w in zip(got, want, strict=True):
        for name, value in w.items():
            assert g[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name


gaps = st.sampled_from(
    [
        0.0,
        0.0,
        1.0,
        59.0,
        3599.0,
        3600.0,
        3601.0,
        6 * 3600.0,
        DAY,
        3 * DAY,
        7 * DAY,
        12 * DAY,
        30 * DAY,
    ]
)
record = st.tuples(
    gaps,
    st.sampled_from(["u1", "u2", "u3"]),
    st.integers(0, 50_000).map(lambda cents: cents / 100),  # money: whole cents
    st.sampled_from(["m1", "m2", None]),
    st.sampled_from(["US", "FR", None]),
    st.sampled_from(["d1", "d2", None]),
    st.sampled_from([0, 1, None]),
    st.sampled_from([None, (48.85, 2.35), (40.71, -74.0)]),
    st.floats(-2 * DAY, 0),  # lateness: how far a record may arrive behind the clock
)


def build(records, disorder):
    stream, clock = [], T0
    for i, (gap, user, amount, merchant, country, device, label, loc, late) in enumerate(records):
        clock += gap
        ts = clock + (late if disorder else 0.0)
        stream.append(txn(i, ts, user, amount, merchant, country, device, label, loc))
    return stream


@settings(max_examples=150, deadline=None)
@given(st.lists(record, max_size=60), st.booleans())
def test_store_equals_definitions_on_random_streams(records, disorder):
    """Ties, gaps, interleaved users, missing fields, out-of-order records (within lateness)."""
    config = StoreConfig(label_delay=2 * DAY, lateness=3 * DAY)
    stream = build(records, disorder)
    got, _ = run(stream, config)
    assert_close(got, naive(stream, config))


far_late = st.tuples(
    st.sampled_from([0.0, 3600.0, DAY, 29 * DAY, 30 * DAY, 30.5 * DAY, 31 * DAY, 33 * DAY]),
    st.sampled_from(["u1", "u2"]),
    st.integers(0, 50_000).map(lambda cents: cents / 100),
    st.sampled_from(["m1", "m2", None]),
    st.sampled_from(["US", "FR", None]),
    st.sampled_from(["d1", "d2", None]),
    st.sampled_from([0, 1, None]),
    st.sampled_from([None, (48.85, 2.35), (40.71, -74.0)]),
    st.floats(-6 * DAY, 0),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(far_late, max_size=40), st.sampled_from([0.0, 0.25 * DAY, DAY]))
def test_records_later_than_lateness_see_the_documented_windows(records, lateness):
    """Records up to six days late, about a month apart, with a lateness of at most one: each
    feature as defined (the naive definition keeps every record)."""
    config = StoreConfig(label_delay=2 * DAY, lateness=lateness)
    stream = build(records, True)
    got, _ = run(stream, config)
    assert_close(got, naive(stream, config))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(far_late, st.sampled_from([1, 3, 40])), max_size=10),
    st.sampled_from([0.0, 0.25 * DAY]),
)
def test_features_do_not_depend_on_when_expiry_ran(bursts, lateness):
    """The same stream through a store that expires entries in chunks and one that never
    does: the same features (to 1e-9: expiry rebases the running sums, which moves the last
    bits of a mean). Bursts (a minute apart) a month apart, up to six days late."""
    config = StoreConfig(label_delay=2 * DAY, lateness=lateness)
    records = [(rec[0] if k == 0 else 60.0, *rec[1:]) for rec, n in bursts for k in range(n)]
    stream = build(records, True)
    keeper = InMemoryStore(config)
    keeper._user_horizon = keeper._merchant_horizon = math.inf  # never expires anything
    kept = []
    for t in stream:
        kept.append(keeper.lookup(t))
        keeper.update(t)
    got, _ = run(stream, config)
    assert_close(got, [dict(zip(FEATURE_NAMES, k, strict=True)) for k in kept])


def test_a_late_record_does_not_see_entries_that_expiry_may_have_removed():
    """A day of entries a month before the user's newest N: the two at or before N - 30.25
    days are past the horizon but still stored (expiry runs in chunks). A record a day late
    does not count them, as if they had expired; one late by less than the lateness sees its
    whole window."""
    config = StoreConfig(label_delay=2 * DAY, lateness=0.25 * DAY)
    old = [txn(i, T0 + 432.0 * i) for i in range(200)]  # one day, 432 s apart
    newest = txn(200, T0 + 30.25 * DAY + 600)  # the horizon ends at T0 + 600: entries 0 and 1
    late, on_time = txn(201, newest.ts - DAY), txn(202, newest.ts - 0.1 * DAY)
    got, store = run([*old, newest, late, on_time], config)
    assert store.users["u"].ts[0] == T0  # not expired yet
    assert got[201]["user_txn_count_30d"] == 198.0  # 200 in its window, 2 past the horizon
    assert got[202]["user_txn_count_30d"] == 169.0  # (T0 + 13,560 s, t]: 32 to 199, `late`
    assert_close(got, naive([*old, newest, late, on_time], config))


def test_point_in_time_excludes_the_record_itself_and_later_ones():
    stream = [txn(0, T0), txn(1, T0 + 10), txn(2, T0 + 20)]
    got, _ = run(stream)
    assert [g["user_txn_count_1h"] for g in got] == [0.0, 1.0, 2.0]


def test_window_is_open_on_the_left_closed_on_the_right():
    got, _ = run([txn(0, T0), txn(1, T0 + 3600), txn(2, T0 + 3600)])
    assert got[1]["user_txn_count_1h"] == 0.0  # exactly 1h before: outside (t-1h, t]
    assert got[2]["user_txn_count_1h"] == 1.0  # same timestamp, earlier in input: inside


def test_label_visible_only_after_the_delay():
    config = StoreConfig(label_delay=7 * DAY)
    stream = [
        txn(0, T0, label=1),
        txn(1, T0 + 7 * DAY - 1, user="v"),
        txn(2, T0 + 7 * DAY, user="w"),
    ]
    got, _ = run(stream, config)
    assert got[1]["merchant_fraud_rate_1d"] == 0.0 and got[1]["merchant_txn_count_1d"] == 0.0
    assert got[2]["merchant_fraud_rate_1d"] == 1.0 and got[2]["merchant_txn_count_30d"] == 1.0


def test_time_features():
    saturday_night = T0 + 2 * DAY + 3 * 3600  # 2026-01-03 03:00 UTC
    (f,), _ = run([txn(0, saturday_night, amount=math.e - 1)])
    assert f["is_weekend"] == 1.0 and f["is_night"] == 1.0
    assert f["log_amount"] == pytest.approx(1.0)
    assert f["hour_sin"] == pytest.approx(math.sin(2 * math.pi * 3 / 24))


def test_impossible_travel_speed():
    stream = [txn(0, T0, loc=(48.85, 2.35)), txn(1, T0 + 3600, loc=(40.71, -74.0))]
    got, _ = run(stream)
    assert got[1]["distance_from_prev_km"] == pytest.approx(5837, rel=0.01)
    assert got[1]["speed_from_prev_kmh"] == pytest.approx(5837, rel=0.01)


def test_state_is_bounded_by_the_longest_window():
    config = StoreConfig(label_delay=DAY, lateness=DAY)
    stream = [txn(i, T0 + i * 3600, merchant=f"m{i % 3}", device=f"d{i}") for i in range(24 * 120)]
    _, store = run(stream, config)
    user = store.users["u"]
    span = user.ts[-1] - user.ts[0]
    assert span <= 31 * DAY + 64 * 3600  # 30d window + lateness + one pruning chunk
    assert len(user.last_seen[2]) <= len(user.ts)  # old devices are forgotten too
    merchant = store.merchants["m0"]
    assert merchant.ts[-1] - merchant.ts[0] <= 32 * DAY + 200 * 3600


def test_snapshot_restore_continues_identically():
    stream = build(
        [
            (
                3600.0 * (i % 5),
                f"u{i % 4}",
                float(i),
                f"m{i % 3}",
                "US",
                f"d{i % 2}",
                i % 2,
                (1.0 * i, 2.0),
                0.0,
            )
            for i in range(300)
        ],
        disorder=False,
    )
    config = StoreConfig()
    _, store = run(stream[:200], config)
    restored = InMemoryStore.restore(store.snapshot(), config)
    for t in stream[200:]:
        assert restored.lookup(t) == store.lookup(t)
        restored.update(t)
        store.update(t)


def test_expiry_chunk_is_ripe_exactly_when_enough_entries_are_past_the_horizon():
    """The one comparison `add` makes stands for the rule it replaced, for every list length
    and every count k of entries at or before the cutoff: expire once k >= 32, or k >= 1 and
    k is at least a quarter of the entries."""
    for n in range(1, 300):
        ts = [float(i) for i in range(n)]
        for k in range(n + 1):
            ripe = ts[prune_at(n)] <= k - 0.5  # k entries are at or before k - 0.5
            assert ripe == (k >= 32 or (k > 0 and 4 * k >= n)), (n, k)


@settings(max_examples=100, deadline=None)
@given(record)
def test_a_user_never_seen_is_a_user_with_empty_state(rec):
    """The shortcut for a new user gives what the full computation gives on empty state."""
    (t,) = build([rec], disorder=False)
    assert first_for_user(t) == user_features(UserState(), t)
