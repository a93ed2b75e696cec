"""The Redis store against the embedded one, on a real redis-server: any stream (ties, records
late within and beyond the lateness, duplicates within and beyond the dedupe window, missing
merchants, countries, devices and places, labels after the fact) gives the same duplicate
answers, the same label outcomes and features equal to 1e-9, one record at a time or K per
round trip; and the same from a state pushed into Redis, or pulled out of it."""

from __future__ import annotations

import math
import time

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudcli.features.redis_features import decoded, encoded
from fraudcli.features.redis_store import RedisStore
from fraudcli.features.redis_url import connect, parse_redis_url
from fraudcli.features.spec import DAY, FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.records.labels import Label
from tests.helpers import T0, txn
from tests.redis_server import RedisServer

PREFIX = "t:"


@pytest.fixture(scope="module")
def server(redis_binary):
    with RedisServer(redis_binary) as started:
        yield started


@pytest.fixture(scope="module")
def client(server):
    url = parse_redis_url(server.unix_url)
    redis = connect(url)
    yield redis
    redis.close()


def fresh(client, config: StoreConfig, batch: int = 7) -> RedisStore:
    client.flushdb()
    return RedisStore(client, config, prefix=PREFIX, batch=batch)


def assert_same(got, want, where=""):
    assert (got is None) == (want is None), where
    if want is not None:
        assert len(got) == len(want) == len(FEATURE_NAMES)
        for name, g, w in zip(FEATURE_NAMES, got, want, strict=True):
            assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9), (where, name, g, w)


record = st.tuples(
    st.just("txn"),
    st.sampled_from(  # mostly close, now and then a month: windows' edges, late floors
        [0.0, 0.0, 1.0, 60.0, 3600.0, 0.3 * DAY, DAY, 2.5 * DAY, 29 * DAY, 30.5 * DAY, 31 * DAY]
    ),
    st.sampled_from(["u1", "u2"]),
    st.integers(0, 50_000).map(lambda cents: cents / 100),
    st.sampled_from(["m1", "m2", None, "m\x1f\\u"]),  # the separator and the escape as values
    st.sampled_from(["US", "FR", None]),
    st.sampled_from(["d1", "d2", None]),
    st.sampled_from([0, 1, None]),
    st.sampled_from([None, (48.85, 2.35), (40.71, -74.0)]),
    st.one_of(  # behind the clock: within the lateness, beyond it
        st.sampled_from([0.0, 0.0, 0.0, -3600.0, -0.3 * DAY, -1.2 * DAY, -3 * DAY, -6 * DAY]),
        st.floats(-6 * DAY, 0),
    ),
    st.sampled_from([0, 0, 0, 1, 2, 5]),  # > 0: the id of the k-th latest record so far
)
label_event = st.tuples(
    st.just("label"),
    st.integers(1, 6),  # the how-many-th latest record so far
    st.sampled_from([0, 1]),
    st.one_of(  # label_time from the clock: mostly ahead of it, past t + d
        st.none(), st.sampled_from([-DAY, 1.5 * DAY, 2.5 * DAY, 4 * DAY]), st.floats(-DAY, 4 * DAY)
    ),
)
configs = st.sampled_from(
    [
        StoreConfig(label_delay=2 * DAY, lateness=DAY),
        StoreConfig(label_delay=2 * DAY, lateness=0.25 * DAY, dedupe_window=1.5 * DAY),
        StoreConfig(label_delay=0.5 * DAY, lateness=DAY, dedupe_window=4 * DAY),
    ]
)


def build(drawn) -> list:
    """Transactions and lists of labels, in arrival order."""
    events, ids, clock = [], [], T0
    for kind, *rest in drawn:
        if kind == "label":
            back, value, when = rest
            tid = ids[-back] if back <= len(ids) else "never-seen"
            events.append([Label(tid, value, None if when is None else clock + when)])
            continue
        gap, user, amount, merchant, country, device, label, loc, late, again = rest
        clock += gap
        tid = ids[-again] if 0 < again <= len(ids) else f"t{len(ids)}"
        ids.append(tid)
        t = txn(0, clock + late, user, amount, merchant, country, device, label, loc)
        t.transaction_id = tid
        events.append(t)
    return events


def run_both(events, embedded: InMemoryStore, redis: RedisStore, chunked: bool) -> None:
    """Each event through both stores: the same answers. Transactions between two labels go
    as one `observe_many` when `chunked`, else one `observe` each."""
    pending = []

    def flush():
        got = redis.observe_many(pending) if chunked else [redis.observe(t) for t in pending]
        for i, (t, g) in enumerate(zip(pending, got, strict=True)):
            assert_same(g, embedded.observe(t), (i, t))
        pending.clear()

    for event in events:
        if isinstance(event, list):
            flush()
            assert redis.label(event) == embedded.label(event), event
        else:
            pending.append(event)
    flush()
    assert redis.newest == embedded.newest


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(record, record, label_event), max_size=50), configs, st.booleans())
def test_any_stream_gives_the_embedded_features(client, drawn, config, chunked):
    events = build(drawn)
    run_both(events, InMemoryStore(config), fresh(client, config), chunked)


far_late = st.tuples(
    st.just("txn"),
    st.sampled_from([0.0, 3600.0, DAY, 29 * DAY, 30 * DAY, 30.5 * DAY, 31 * DAY, 33 * DAY]),
    st.sampled_from(["u1", "u2"]),
    st.integers(0, 50_000).map(lambda cents: cents / 100),
    st.sampled_from(["m1", "m2", None]),
    st.sampled_from(["US", "FR", None]),
    st.sampled_from(["d1", "d2", None]),
    st.sampled_from([0, 1, None]),
    st.sampled_from([None, (48.85, 2.35)]),
    st.floats(-6 * DAY, 0),
    st.just(0),
)
labelled = st.one_of(  # (the events of tests/features/test_labels.py)
    st.tuples(
        st.just("txn"),
        st.sampled_from([0.0, 3600.0, 0.5 * DAY, DAY, 2 * DAY, 5 * DAY]),
        st.sampled_from(["u1", "u2"]),
        st.just(10.0),
        st.sampled_from(["m1", "m1", "m2", None]),
        st.just("US"),
        st.just("d1"),
        st.sampled_from([0, 1, None, None]),
        st.just(None),
        st.floats(-2 * DAY, 0),
        st.just(0),
    ),
    label_event,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.one_of(far_late, far_late, label_event), max_size=30),
    st.sampled_from([0.0, 0.25 * DAY, DAY]),
    st.sampled_from([None, 3 * DAY]),
)
def test_records_later_than_the_lateness_as_the_embedded_store(client, drawn, lateness, window):
    """Records up to six days late, about a month apart, and labels: the late floors of users
    and merchants (entries the embedded store may have expired, Redis not yet)."""
    config = StoreConfig(label_delay=2 * DAY, lateness=lateness, dedupe_window=window)
    run_both(build(drawn), InMemoryStore(config), fresh(client, config), chunked=True)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(labelled, max_size=40), st.booleans())
def test_labels_after_the_fact_as_the_embedded_store(client, drawn, chunked):
    """Labels before and after t + d, changed, repeated, reversed, for unknown ids: the same
    outcomes, and merchant features that count each label from when it became visible."""
    config = StoreConfig(label_delay=2 * DAY, lateness=DAY)
    run_both(build(drawn), InMemoryStore(config), fresh(client, config), chunked)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.one_of(record, record, label_event), max_size=30),
    st.lists(st.one_of(record, label_event), max_size=20),
    configs,
)
def test_a_pushed_state_continues_as_the_embedded_one(client, before, after, config):
    """An embedded store's snapshot pushed into Redis reads back as it was (what a lookup can
    see) and continues as the embedded store does; the state read back from Redis restores an
    embedded store that continues the same too."""
    events = build(before + after)
    embedded, cut = InMemoryStore(config), len(before)
    answers(events[:cut], embedded)
    client.flushdb()
    redis = RedisStore.restore(embedded.snapshot(), config, client=client, prefix=PREFIX)
    assert live(redis.snapshot(), config) == live(embedded.snapshot(), config)
    assert redis.newest == embedded.newest
    pulled = InMemoryStore.restore(redis.snapshot(), config)
    twin = InMemoryStore.restore(embedded.snapshot(), config)
    run_both(events[cut:], twin, redis, chunked=True)
    want = answers(events[cut:], InMemoryStore.restore(embedded.snapshot(), config))
    for got, expected in zip(answers(events[cut:], pulled), want, strict=True):
        if isinstance(expected, list) and expected and isinstance(expected[0], str):
            assert got == expected
        else:
            assert_same(got, expected)
    assert live(redis.snapshot(), config) == live(twin.snapshot(), config)
    tables = redis.snapshot()  # holds only what a lookup can still see
    assert {name: len(rows) for name, rows in live(tables, config).items()} == {
        name: table.num_rows for name, table in tables.items()
    }


def answers(events, store) -> list:
    """Each event's answer: a label list's outcomes, a transaction's features (None: a
    duplicate)."""
    return [store.label(e) if isinstance(e, list) else store.observe(e) for e in events]


def live(tables: dict[str, pa.Table], config: StoreConfig) -> dict[str, list]:
    """The rows a lookup can still see, in a canonical order (the embedded store expires in
    chunks and keeps keys in arrival order; Redis trims as it goes and reads keys sorted);
    amounts to 1e-9 (the embedded store writes its running sums' differences), running sums
    left out."""
    horizons = {"user_id": config.user_horizon, "merchant_id": config.merchant_horizon}
    newest = {
        key: _newest(tables[name].to_pylist(), key)
        for name, key in (("user_entries", "user_id"), ("merchant_entries", "merchant_id"))
    }
    out = {}
    for name, table in tables.items():
        rows = table.to_pylist()
        key = {"user_entries": "user_id", "merchant_entries": "merchant_id"}.get(name)
        if name == "label_changes":
            key = "merchant_id"
        if key is not None:
            ends, horizon = newest[key], horizons[key]
            rows = [r for r in rows if r["ts"] > ends.get(r[key], math.inf) - horizon]
        out[name] = sorted(
            repr(sorted((k, round(v, 9) if isinstance(v, float) else v) for k, v in r.items()))
            for r in ({k: v for k, v in row.items() if k != "cum_amount"} for row in rows)
        )
    return out


def _newest(rows: list[dict], key: str) -> dict:
    newest: dict = {}
    for row in rows:
        newest[row[key]] = max(newest.get(row[key], row["ts"]), row["ts"])
    return newest


def test_lookup_update_and_rules_only_as_the_embedded_store(client):
    config = StoreConfig(label_delay=DAY)
    redis, embedded = fresh(client, config), InMemoryStore(config)
    stream = [
        txn(i, T0 + 600.0 * i, f"u{i % 2}", 10.0 + i, merchant="m", label=i % 3 == 0)
        for i in range(12)
    ]
    for t in stream[:4]:
        assert_same(redis.lookup(t), embedded.lookup(t))
        redis.update(t)
        embedded.update(t)
    for t in stream[4:8]:
        assert redis.observe(t, lookup=False) == embedded.observe(t, lookup=False) == []
    for t in stream[8:]:
        assert_same(redis.observe_values(*_values(t)), embedded.observe_values(*_values(t)))
    assert redis.observe(stream[5], lookup=False) is None  # a duplicate changes nothing
    later = txn(99, T0 + 2 * DAY, "u0", merchant="m")
    assert_same(redis.lookup(later), embedded.lookup(later))


def _values(t):
    return (
        t.transaction_id, t.user_id, t.ts, t.amount, t.merchant_id, t.country, t.device_id,
        t.lat, t.lon, t.is_fraud,
    )  # fmt: skip


def test_a_transaction_sent_twice_in_one_batch_is_applied_once(client):
    redis = fresh(client, StoreConfig())
    t = txn(1, T0, "u", 5.0)
    first, again = redis.observe_many([t, t])
    assert first is not None and again is None
    later = redis.lookup(txn(2, T0 + 1, "u"))
    assert later[FEATURE_NAMES.index("user_txn_count_1h")] == 1.0


@pytest.mark.parametrize("value", [None, "", "plain", "a\x1fb", "back\\slash", "\\u", "é\x1f\\"])
def test_encoded_values_read_back_and_never_hold_the_separator(value):
    text = encoded(value)
    assert "\x1f" not in text
    assert decoded(text) == value


def test_keys_and_a_lost_script_cache(client):
    """Keys live under the prefix only; a server that lost its scripts (a restart, SCRIPT
    FLUSH) gets the script again and runs every transaction once."""
    redis = fresh(client, StoreConfig())
    redis.observe_many([txn(i, T0 + i, "u", merchant="m") for i in range(3)])
    assert all(key.startswith(PREFIX) for key in client.keys("*"))
    client.script_flush()
    rows = redis.observe_many([txn(i, T0 + 10 + i, "u", merchant="m") for i in range(3, 6)])
    assert [row[FEATURE_NAMES.index("user_txn_count_1h")] for row in rows] == [3.0, 4.0, 5.0]


def test_a_label_changes_the_entry_that_holds_the_old_one(client):
    """Two entries of a merchant at one time, fraud and not: relabelling the fraud one counts
    one fraud fewer, whichever of them comes last."""
    config = StoreConfig(label_delay=DAY)
    redis, embedded = fresh(client, config), InMemoryStore(config)
    a, b = txn(1, T0, "u", merchant="m", label=1), txn(2, T0, "v", merchant="m", label=0)
    run_both([a, b, [Label("t1", 0, T0)]], embedded, redis, chunked=False)
    later = txn(3, T0 + DAY + 1, "w", merchant="m")
    got = redis.lookup(later)
    assert_same(got, embedded.lookup(later))
    assert got[FEATURE_NAMES.index("merchant_fraud_rate_1d")] == 0.0


def test_a_late_lookup_leaves_the_changes_of_entries_below_its_floor(client):
    """A label changed after the fact on an entry that a lookup late by more than the
    lateness no longer sees (below its floor): not undone for that lookup either."""
    config = StoreConfig(label_delay=2 * DAY, lateness=DAY)
    redis, embedded = fresh(client, config), InMemoryStore(config)
    old = txn(1, T0, "u", merchant="m", label=0)
    events = [
        old,
        [Label("t1", 1, T0 + 40 * DAY)],  # arrives long after t + d: kept as a change
        txn(2, T0 + 10 * DAY, "v", merchant="m"),
        txn(3, T0 + 34 * DAY, "v", merchant="m"),  # the merchant's newest: floor T0 + 1 d
        txn(4, T0 + 31.5 * DAY, "w", merchant="m"),  # late by 2.5 d; its 30 d window holds T0
    ]
    run_both(events, embedded, redis, chunked=False)
    got = redis.lookup(txn(5, T0 + 31.5 * DAY, "x", merchant="m"))
    assert got[FEATURE_NAMES.index("merchant_fraud_rate_30d")] == 0.0
    assert got[FEATURE_NAMES.index("merchant_txn_count_30d")] == 1.0


def test_an_idle_ttl_only_when_asked_and_never_on_the_shared_keys(client):
    """?ttl=: every key of a user and a merchant touched gets it again (wall clock); the id
    registry and the store's own keys never expire; without it nothing does."""
    config = StoreConfig()
    plain = fresh(client, config)
    plain.observe_many([txn(1, T0, "u", merchant="m")])
    assert {client.pttl(key) for key in client.keys("*")} == {-1}
    timed = RedisStore(client, config, prefix="ttl:", ttl=3600.0)
    timed.observe_many([txn(2, T0, "v", merchant="n", label=1)])
    timed.label([Label("t2", 0, T0 + 30 * DAY)])
    lives = {key: client.pttl(key) for key in client.keys("ttl:*")}
    assert {k for k, ms in lives.items() if ms == -1} == {"ttl:tx", "ttl:meta"}
    assert all(0 < ms <= 3_600_000 for k, ms in lives.items() if ms != -1)
    assert {"ttl:ut:v", "ttl:ua:v", "ttl:uh:v", "ttl:m:n", "ttl:mc:n"} <= set(lives)


def test_one_record_at_a_time_after_a_lost_script_cache(client):
    redis = fresh(client, StoreConfig())
    redis.observe(txn(1, T0, "u"))
    client.script_flush()
    row = redis.observe(txn(2, T0 + 1, "u"))
    assert row[FEATURE_NAMES.index("user_txn_count_1h")] == 1.0
    assert redis.observe(txn(2, T0 + 1, "u")) is None


def test_a_long_stream_in_several_script_calls_a_round_trip(client, monkeypatch):
    """400 records (late ones, a month's gaps, resent ids, labels) in round trips of 25, two
    records a script call: what the store keeps between calls (its newest times, counter,
    sweep of old ids) carries over, and trims and sweeps change no feature."""
    import random

    import fraudcli.features.redis_store as redis_store

    monkeypatch.setattr(redis_store, "PER_CALL", 2)
    rng = random.Random(7)
    drawn = []
    for _ in range(400):
        if rng.random() < 0.08:
            drawn.append(
                ("label", rng.randint(1, 6), rng.randint(0, 1), rng.uniform(-DAY, 4 * DAY))
            )
            continue
        gap = rng.choice([0.0, 60.0, 3600.0, 0.3 * DAY, DAY, 2.5 * DAY, 31 * DAY])
        late = rng.choice([0.0, 0.0, 0.0, -3600.0, -1.2 * DAY, -6 * DAY])
        loc = rng.choice([None, (48.85, 2.35)])
        drawn.append(("txn", gap, rng.choice(["u1", "u2", "u3"]), rng.randint(0, 50_000) / 100,
                      rng.choice(["m1", "m2", None]), rng.choice(["US", "FR"]),
                      rng.choice(["d1", "d2", None]), rng.choice([0, 1, None]), loc, late,
                      rng.choice([0, 0, 0, 0, 1, 3])))  # fmt: skip
    config = StoreConfig(label_delay=2 * DAY, lateness=0.5 * DAY, dedupe_window=3 * DAY)
    redis = fresh(client, config, batch=25)
    run_both(build(drawn), InMemoryStore(config), redis, chunked=True)
    assert client.hlen(PREFIX + "tx") < 400  # ids past the window were swept


def test_calls_in_flight_answer_as_observe_many_in_order(client):
    """`RedisStore.calls`: three calls in flight are answered in order, as `observe_many`
    answers; after a lost script cache, calls sent before it was loaded again still are
    (run again, in order); a call whose answer is never read still ran, and the next call
    (on a new connection) works."""
    from fraudcli.features.redis_store import PER_CALL

    config = StoreConfig()
    stream = [txn(i, T0 + 60.0 * i, f"u{i % 3}", merchant=f"m{i % 2}") for i in range(5 * PER_CALL)]
    stream.append(stream[4])  # sent again: a duplicate
    want = fresh(client, config).observe_many(stream)
    store = fresh(client, config)
    calls = store.calls()
    parts = [stream[k : k + PER_CALL] for k in range(0, len(stream), PER_CALL)]
    got = []
    for part in parts[:3]:
        calls.send(part, [True] * len(part))
    assert len(calls) == 3
    while len(calls):
        got += calls.receive()
    client.script_flush()
    for part in parts[3:]:
        calls.send(part, [True] * len(part))
    while len(calls):
        got += calls.receive()
    assert got[-1] is None
    for g, w in zip(got, want, strict=True):
        assert_same(g, w)
    later = [txn(900 + i, T0 + DAY + i, "v") for i in range(2)]
    calls.send(later[:1], [True])
    calls.drop()  # its answer never read
    calls.send(later[1:], [True])
    row = calls.receive()[0]
    assert row[FEATURE_NAMES.index("user_txn_count_1h")] == 1  # (the dropped call ran)


def test_a_call_not_answered_within_the_time_out_fails(server, redis_binary):
    """A paused server: `ready` waits until asked, then, past the connection's time-out,
    says the state is unavailable; the calls in flight are forgotten."""
    from fraudcli.errors import StateUnavailable

    quick = connect(parse_redis_url(server.unix_url), timeout=0.2)
    store = fresh(quick, StoreConfig())
    calls = store.calls()
    calls.send([txn(0, T0 - 1, "w")], [True])
    calls.receive()  # (its connection made)
    server.pause()
    try:
        calls.send([txn(1, T0, "u")], [True])
        assert not calls.ready(time.perf_counter_ns())  # (not waited for)
        with pytest.raises(StateUnavailable):
            for _ in range(20):  # 2 s at most, against a time-out of 0.2 s
                assert not calls.ready(time.perf_counter_ns() + 100_000_000)
        assert len(calls) == 0
    finally:
        server.resume()
    calls.send([txn(2, T0 + 1, "u")], [True])
    assert calls.receive()[0][FEATURE_NAMES.index("user_txn_count_1h")] == 1
    quick.close()
