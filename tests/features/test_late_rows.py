"""Chunks with late rows (behind the newest before them by less than the store's lateness) on
the column path, against the one-record store."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.features.continued import ColumnState
from fraudcli.features.late_rows import in_time, passed_rows
from fraudcli.features.spec import DAY
from fraudcli.features.store import StoreConfig
from tests.helpers import (
    T0,
    assert_features_equal,
    build,
    chunk_data,
    continued,
    one_record,
    record,
    txn,
)

LATENESS = 3 * DAY + 1  # `record`s run up to 3 days behind their clock: all within it


@settings(max_examples=150, deadline=None)
@given(
    st.lists(record, max_size=40),
    st.lists(record, min_size=1, max_size=60),
    st.lists(st.integers(0, 60), max_size=3),
    st.booleans(),
    st.sampled_from([LATENESS, 7 * DAY]),
)
def test_late_chunks_equal_the_one_record_path(before, after, cuts, late_before, delay):
    """Any stored state, then chunks whose rows run up to three days behind (ties, the same
    user passed by a late row, late rows before the state's newest), cut anywhere."""
    config = StoreConfig(label_delay=delay, lateness=LATENESS)
    prefix = build(before, late=late_before)
    clock = max((t.ts for t in prefix), default=T0)
    rest = build(after, clock, late=True, first=len(prefix))
    _, reference = one_record(prefix, config)
    state = ColumnState.from_snapshot(reference.snapshot(), config)
    bounds = [0, *sorted(min(c, len(rest)) for c in cuts), len(rest)]
    got = continued(state, [rest[a:b] for a, b in zip(bounds, bounds[1:], strict=False)])
    want, full = one_record(prefix + rest, config)
    assert_features_equal(got, want[len(prefix) :])
    store = state.to_store()
    follow = build(after[:6], max(t.ts for t in rest), late=True, first=len(prefix) + len(rest))
    for t in follow:
        assert store.lookup(t) == pytest.approx(full.lookup(t), rel=1e-9, abs=1e-9)
        store.update(t)
        full.update(t)


def test_a_straggler_is_exact_and_beyond_lateness_is_refused():
    config = StoreConfig(lateness=DAY)
    stream = [txn(i, T0 + 600 * i, user=f"u{i % 3}", merchant=f"m{i % 2}") for i in range(40)]
    stream.insert(30, stream.pop(5))  # txn 5, four hours late, behind its own user's rows
    want, _ = one_record(stream, config)
    state = ColumnState(config)
    assert_features_equal(continued(state, [stream[:20], stream[20:]]), want)
    assert state.newest == T0 + 600 * 39
    too_late = [txn(99, T0 + 600 * 39 - DAY, user="u1")]
    assert state.step(state.chunk(chunk_data(too_late))) is None


def test_late_rows_need_a_label_delay_of_at_least_the_lateness():
    assert in_time(np.array([10.0, 5.0]), 0.0, lateness=DAY, label_delay=DAY)
    assert not in_time(np.array([10.0, 5.0]), 0.0, lateness=DAY, label_delay=DAY - 1)
    assert in_time(np.array([5.0, 10.0]), 0.0, lateness=DAY, label_delay=0.0)  # none late
    assert not in_time(np.array([10.0, 10.0 - DAY]), 0.0, lateness=DAY, label_delay=DAY)
    assert not in_time(np.array([10.0]), 10.0 + DAY, lateness=DAY, label_delay=DAY)


def test_the_rows_a_late_row_passes():
    stream = [txn(0, 100.0, "a"), txn(1, 300.0, "b"), txn(2, 200.0, "a"), txn(3, 250.0, "a"),
              txn(4, 50.0, "b"), txn(5, 300.0, "a"), txn(6, 300.0, "a")]  # fmt: skip
    state = ColumnState(StoreConfig())
    chunk = state.chunk(chunk_data(stream))
    assert passed_rows(chunk).tolist() == [1]  # only b's 300 has a later, earlier row (50)
