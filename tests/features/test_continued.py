"""Features continued from a stored state, chunk by chunk, against the one-record store."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.features.continued import ColumnState
from fraudcli.features.spec import DAY
from fraudcli.features.store import InMemoryStore, StoreConfig
from tests.helpers import (
    DELAY,
    T0,
    assert_features_equal,
    build,
    chunk_data,
    continued,
    one_record,
    record,
    txn,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(record, max_size=40),
    st.lists(record, max_size=40),
    st.lists(st.integers(0, 40), max_size=3),
    st.booleans(),
    st.sampled_from([0.0, DELAY, -DAY, DAY + 0.25]),
    st.sampled_from([3 * DAY, 0.5 * DAY]),
)
def test_chunks_from_a_snapshot_equal_the_one_record_path(
    before, after, cuts, late, delay, lateness
):
    """A state left by any stream (records up to 3 days late: within the lateness or beyond
    it), then sorted chunks cut anywhere, and late follow-ups on the state they leave."""
    config = StoreConfig(label_delay=delay, lateness=lateness)
    prefix = build(before, late=late)
    clock = max((t.ts for t in prefix), default=T0)
    rest = build(after, clock, first=len(prefix))
    _, reference = one_record(prefix, config)
    state = ColumnState.from_snapshot(reference.snapshot(), config)
    bounds = [0, *sorted(min(c, len(rest)) for c in cuts), len(rest)]
    got = continued(state, [rest[a:b] for a, b in zip(bounds, bounds[1:], strict=False)])
    want, _ = one_record(prefix + rest, config)
    assert_features_equal(got, want[len(prefix) :])
    # and the state after the chunks answers later lookups like the one-record store
    store, (_, full) = state.to_store(), one_record(prefix + rest, config)
    clock = rest[-1].ts if rest else clock
    follow = build(after[:5], clock, late=late, first=len(prefix) + len(rest))
    for t in follow:
        assert store.lookup(t) == pytest.approx(full.lookup(t), rel=1e-9, abs=1e-9)
        store.update(t)
        full.update(t)


def test_a_chunk_it_cannot_do_exactly_is_refused_and_the_state_kept():
    state = ColumnState(StoreConfig())
    assert state.step(state.chunk(chunk_data([txn(0, T0 + 100), txn(1, T0 + 200)]))) is not None
    before = state.snapshot()
    late = T0 + 200 - DAY  # a day behind: beyond the store's lateness
    for bad in ([txn(2, late - 1)], [txn(3, T0 + 300), txn(4, late + 99)]):
        assert state.step(state.chunk(chunk_data(bad))) is None
    assert state.snapshot()["user_entries"].equals(before["user_entries"])


def test_fresh_state_equals_the_batch_of_a_fresh_store():
    stream = build([(60.0, "u1", 5.0, "m1", "US", "d1", 1, None, 0.0)] * 5)
    state = ColumnState(StoreConfig())
    want, _ = one_record(stream, StoreConfig())
    assert_features_equal(continued(state, [stream[:2], stream[2:]]), want)
    assert list(state.to_store().users) == ["u1"]


def test_empty_snapshot_round_trip():
    state = ColumnState.from_snapshot(InMemoryStore().snapshot(), StoreConfig())
    assert state.newest == -np.inf and len(state.u_ts) == 0


def test_late_lookups_after_chunks_agree_with_the_one_record_store():
    """The column state keeps exactly the entries within the horizon, the one-record store
    expires them in chunks: a record more than the lateness behind sees the same from both."""
    config = StoreConfig(label_delay=DELAY, lateness=0.25 * DAY)
    stream = [txn(i, T0 + 432.0 * i) for i in range(200)] + [txn(200, T0 + 30.25 * DAY + 600)]
    state = ColumnState(config)
    continued(state, [stream[:150], stream[150:]])
    store, (_, reference) = state.to_store(), one_record(stream, config)
    for t in [txn(201, stream[-1].ts - DAY), txn(202, stream[-1].ts - 3 * DAY)]:
        assert store.lookup(t) == pytest.approx(reference.lookup(t), rel=1e-9, abs=1e-9)
        store.update(t)
        reference.update(t)
