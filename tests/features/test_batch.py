"""The batch feature path against the one-record store (the definition), on random streams."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.features.batch import batch_features
from fraudcli.features.spec import DAY, FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.io.read import read_batches
from fraudcli.records.schema import Txn
from fraudcli.simulation.simulate import simulate
from tests.helpers import DELAY, T0, assert_features_equal, build, one_record, record, txn


def assert_lookups_agree(batch_store, reference, follow_ups):
    """The batch store answers, and keeps answering after updates, like the reference store."""
    for t in follow_ups:
        got, want = batch_store.lookup(t), reference.lookup(t)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
        batch_store.update(t)
        reference.update(t)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(record, max_size=60),
    st.lists(record, min_size=1, max_size=8),
    st.booleans(),
    st.sampled_from([0.0, DELAY, -DAY, DAY + 0.25]),
    st.sampled_from([3 * DAY, 0.5 * DAY]),
)
def test_batch_equals_one_record_path_on_random_streams(records, more, late, delay, lateness):
    """Ties, gaps of exactly a window or the label delay, interleaved users, missing fields;
    then follow-ups up to 3 days late, beyond the lateness too (the batch store expires
    exactly at the horizon, the one-record store in chunks: the lookups agree)."""
    config = StoreConfig(label_delay=delay, lateness=lateness)
    stream = build(records)
    result = batch_features(stream, config)
    assert result is not None
    want, reference = one_record(stream, config)
    assert_features_equal(result.X, want)
    clock = stream[-1].ts if stream else T0
    follow_ups = build(more, clock, late=late, first=len(stream))  # late: up to 3 days
    assert_lookups_agree(result.store, reference, follow_ups)


def test_unsorted_stream_is_left_to_the_one_record_path():
    stream = [txn(0, T0 + 10), txn(1, T0), txn(2, T0 + 20)]
    assert batch_features(stream, StoreConfig()) is None
    assert batch_features(sorted(stream, key=lambda t: t.ts), StoreConfig()) is not None


def test_other_preconditions_return_none():
    stream = [txn(0, T0), txn(1, T0 + 5)]
    assert batch_features(stream, StoreConfig(lateness=-1.0)) is None
    assert batch_features(stream, StoreConfig(label_delay=float("inf"))) is None
    half_located = Txn("t9", T0 + 9, "u", 1.0, lat=10.0, lon=None)
    assert batch_features([*stream, half_located], StoreConfig()) is None


def test_empty_input_gives_an_empty_table_and_store():
    result = batch_features([], StoreConfig())
    assert result is not None and result.X.shape == (0, len(FEATURE_NAMES))
    assert result.store.users == {} and result.store.merchants == {}


def test_impossible_travel_and_novelty_by_hand():
    paris, new_york = (48.85, 2.35), (40.71, -74.0)
    stream = [
        txn(0, T0, loc=paris, device="d1"),
        txn(1, T0 + 1800, loc=None, device="d1"),  # unlocated: travel is from txn 0
        txn(2, T0 + 3600, loc=new_york, device="d2"),
        txn(3, T0 + 3600 + 31 * DAY, loc=new_york, device="d2"),  # device last seen > 30d ago
    ]
    X = batch_features(stream, StoreConfig()).X
    col = {name: X[:, j] for j, name in enumerate(FEATURE_NAMES)}
    assert col["distance_from_prev_km"][2] == pytest.approx(5837, rel=0.01)
    assert col["speed_from_prev_kmh"][2] == pytest.approx(5837, rel=0.01)  # one hour apart
    assert col["distance_from_prev_km"][1] == 0.0
    assert col["is_new_device_30d"].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert col["hours_since_user_prev"].tolist() == [720.0, 0.5, 0.5, 720.0]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> list[Txn]:
    path = tmp_path_factory.mktemp("sim") / "sim.parquet"
    pq.write_table(simulate(20_000, seed=1), path)
    return [item[2] for batch in read_batches(path) for item in batch]


def test_simulated_table_equals_one_record_path(simulated):
    config = StoreConfig()
    assert all(isinstance(t, Txn) for t in simulated)
    result = batch_features(simulated, config)
    want, reference = one_record(simulated, config)
    assert_features_equal(result.X, want)
    store = result.store
    assert list(store.users) == list(reference.users)  # same key order: same snapshots
    assert list(store.merchants) == list(reference.merchants)
    for user_id, state in store.users.items():
        ref = reference.users[user_id]
        assert state.ts == [t for t in ref.ts if t > ref.ts[-1] - config.user_horizon]
        assert (state.prev_ts, state.loc) == (ref.prev_ts, ref.loc)
        assert ref.device[-len(state.ts) :] == state.device
    for merchant_id, state in store.merchants.items():
        ref_ts = reference.merchants[merchant_id].ts
        assert state.ts == [t for t in ref_ts if t > ref_ts[-1] - config.merchant_horizon]


def test_built_store_is_what_restoring_its_snapshot_gives(simulated):
    """The direct construction matches `InMemoryStore.restore` (the snapshot format)."""
    config = StoreConfig()
    store = batch_features(simulated[:5000], config).store
    restored = InMemoryStore.restore(store.snapshot(), config)
    assert list(restored.users) == list(store.users)
    for user_id, state in store.users.items():
        other = restored.users[user_id]
        for name in ("ts", "merchant", "country", "device", "last_seen", "prev_ts", "loc"):
            assert getattr(other, name) == getattr(state, name), name
        assert other.cum == pytest.approx(state.cum, rel=1e-12, abs=1e-9)
    for merchant_id, state in store.merchants.items():
        other = restored.merchants[merchant_id]
        assert (other.ts, other.cum_fraud) == (state.ts, state.cum_fraud)


def test_late_lookups_agree_whatever_each_store_expired():
    """The batch store keeps exactly the entries within the horizon, the one-record store
    expires them in chunks (two past the horizon are still there): a record a day late, more
    than the lateness, gets the same features from both."""
    config = StoreConfig(label_delay=DELAY, lateness=0.25 * DAY)
    stream = [txn(i, T0 + 432.0 * i) for i in range(200)] + [txn(200, T0 + 30.25 * DAY + 600)]
    result = batch_features(stream, config)
    _, reference = one_record(stream, config)
    assert len(result.store.users["u"].ts) == 199 and len(reference.users["u"].ts) == 201
    late = [txn(201, stream[-1].ts - DAY), txn(202, stream[-1].ts - 3 * DAY)]
    assert_lookups_agree(result.store, reference, late)
