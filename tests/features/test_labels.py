"""Labels after the fact against their definition, written out naively: a label of x becomes
visible to merchant features at max(t_x + d, arrival); before that a lookup sees x as it was.
On the record path, through snapshots, and on the column path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.commands.label import UNKNOWN
from fraudcli.features.continued import ColumnState
from fraudcli.features.labels import APPLIED, CHANGED, UNCHANGED
from fraudcli.features.spec import DAY, FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.records.labels import Label
from tests.helpers import T0, assert_features_equal, chunk_data, txn

MERCHANT = [FEATURE_NAMES.index(n) for n in FEATURE_NAMES if n.startswith("merchant_")]
DELAY = 2 * DAY


def naive_merchant(events, config):
    """Merchant features of each txn event, from every prior event: a window entry x counts
    as fraud by its inline label, or by the last label event applied to it whose visibility
    max(t_x + d, arrival) is at or before the lookup. An event arrives at its label_time, or
    at the newest prior txn time, and never before the change it replaces; the same label
    again, or a label for an id out of the window, does nothing."""
    d, txns, out = config.label_delay, [], []
    changes: dict[str, list[tuple[float, int]]] = {}  # tid -> (arrival, value) applied
    current: dict[str, int | None] = {}
    for event in events:
        newest = max((t.ts for t in txns), default=-math.inf)
        if isinstance(event, Label):
            known = [t for t in txns if t.transaction_id == event.transaction_id]
            if not known or known[-1].ts <= newest - config.id_window:
                continue
            tid = event.transaction_id
            if current.get(tid, known[-1].is_fraud) == event.is_fraud:
                continue
            arrival = newest if event.label_time is None else event.label_time
            applied = changes.setdefault(tid, [])
            arrival = max([arrival, *(a for a, _ in applied)])
            applied.append((arrival, event.is_fraud))
            current[tid] = event.is_fraud
            continue
        t = event
        same = [p for p in txns if t.merchant_id is not None and p.merchant_id == t.merchant_id]
        floor = max((p.ts for p in same), default=-math.inf) - d - 30 * DAY - config.lateness
        counts, rates = [], []
        for w in (DAY, 7 * DAY, 30 * DAY):
            inside = [p for p in same if max(t.ts - d - w, floor) < p.ts <= t.ts - d]
            frauds = 0
            for p in inside:
                value = p.is_fraud or 0
                for arrival, changed in changes.get(p.transaction_id, ()):
                    if max(p.ts + d, arrival) <= t.ts:
                        value = changed
                frauds += value
            counts.append(float(len(inside)))
            rates.append(frauds / len(inside) if inside else 0.0)
        out.append(counts + rates)
        txns.append(t)
    return np.array(out, dtype=np.float64).reshape(len(out), 6)


def through_store(events, config, restore_at=()):
    store, out, outcomes = InMemoryStore(config), [], []
    for i, event in enumerate(events):
        if i in restore_at:
            store = InMemoryStore.restore(store.snapshot(), config)
        if isinstance(event, Label):
            outcomes += store.label([event])
            continue
        features = store.observe(event)
        assert features is not None
        out.append([features[j] for j in MERCHANT])
    return np.array(out, dtype=np.float64).reshape(len(out), 6), store, outcomes


event = st.one_of(
    st.tuples(
        st.just("txn"),
        st.sampled_from([0.0, 3600.0, 0.5 * DAY, DAY, DELAY, 5 * DAY]),
        st.sampled_from(["m1", "m1", "m2", None]),
        st.sampled_from([0, 1, None, None]),
        st.floats(-2 * DAY, 0),
    ),
    st.tuples(
        st.just("label"),
        st.integers(1, 6),  # the how-many-th latest txn so far (or an id not seen yet)
        st.sampled_from([0, 1]),
        st.one_of(  # label_time from the clock: mostly ahead of it, past t + d
            st.none(), st.sampled_from([-DAY, 2.5 * DAY, 4 * DAY]), st.floats(-DAY, 4 * DAY)
        ),
    ),
)


def build_events(drawn, late):
    events, clock, n = [], T0, 0
    for kind, *rest in drawn:
        if kind == "txn":
            gap, merchant, label, behind = rest
            clock += gap
            ts = clock + (behind if late else 0.0)
            events.append(txn(n, ts, user=f"u{n % 2}", merchant=merchant, label=label))
            n += 1
        else:
            back, value, when = rest
            events.append(Label(f"t{n - back}", value, None if when is None else clock + when))
    return events


@settings(max_examples=200, deadline=None)
@given(
    st.lists(event, max_size=40),
    st.booleans(),
    st.lists(st.integers(0, 40), max_size=2),
    st.sampled_from([3 * DAY, 0.5 * DAY]),
)
def test_labels_after_the_fact_as_defined(drawn, late, restore_at, lateness):
    """Any mix of transactions (late ones too) and labels (early, late, changed back and
    forth, repeated, for unknown ids), through snapshots restored anywhere."""
    config = StoreConfig(label_delay=DELAY, lateness=lateness)
    events = build_events(drawn, late)
    got, _, _ = through_store(events, config, set(restore_at))
    np.testing.assert_allclose(got, naive_merchant(events, config), rtol=1e-12, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(st.lists(event, max_size=40), st.lists(event, max_size=30), st.integers(0, 30))
def test_the_column_path_sees_labels_as_the_record_path(before, after, cut):
    """A state with label changes (some arriving after every txn so far), then sorted chunks
    on the column path: the features of lookup then update."""
    config = StoreConfig(label_delay=DELAY, lateness=3 * DAY)
    events = build_events(before + [e for e in after if e[0] == "label"], late=False)
    _, store, _ = through_store(events, config)
    clock = max((e.ts for e in events if not isinstance(e, Label)), default=T0)
    rest = [
        txn(100 + i, clock + 3600.0 * (i + 1) + gap, merchant=m, label=lab)
        for i, (_, gap, m, lab, _) in enumerate(e for e in after if e[0] == "txn")
    ]
    rest.sort(key=lambda t: t.ts)
    state = ColumnState.from_snapshot(store.snapshot(), config)
    parts = [rest[: min(cut, len(rest))], rest[min(cut, len(rest)) :]]
    got = [state.step(state.chunk(chunk_data(part))) for part in parts]
    want = []
    for t in rest:
        want.append(store.lookup(t))
        store.update(t)
    X = np.concatenate(got)
    assert_features_equal(X, np.array(want, dtype=np.float64).reshape(len(rest), X.shape[1]))


def test_labels_given_before_t_plus_d_are_inline_labels():
    config = StoreConfig(label_delay=DELAY)
    inline = [txn(i, T0 + 3600.0 * i, label=i % 3 == 0) for i in range(100)]
    bare = [txn(i, t.ts, label=None) for i, t in enumerate(inline)]
    # each label given one hour after its transaction (before t + d), as the stream goes on
    events = []
    for i, t in enumerate(bare):
        events.append(t)
        if i >= 1:
            events.append(Label(f"t{i - 1}", int(inline[i - 1].is_fraud)))
    got, _, outcomes = through_store(events, config)
    want, _, _ = through_store(inline, config)
    assert (got == want).all() and set(outcomes) == {APPLIED}
    assert want[:, 5].max() > 0  # the labels do count


def test_a_late_label_is_seen_only_from_its_arrival():
    config = StoreConfig(label_delay=DELAY, lateness=10 * DAY)
    x = txn(0, T0, label=0)
    later = [txn(i, T0 + DELAY + i * 3600.0, user=f"v{i}") for i in range(1, 5)]
    store = InMemoryStore(config)
    store.observe(x)
    for t in later[:2]:
        store.observe(t)
    assert store.label([Label("t0", 1, T0 + DELAY + 2.5 * 3600)]) == [CHANGED]
    rate = FEATURE_NAMES.index("merchant_fraud_rate_7d")
    before, at = txn(9, T0 + DELAY + 3600.0, user="w"), txn(10, T0 + DELAY + 2.5 * 3600)
    assert store.lookup(before)[rate] == 0.0  # before the arrival: x as it was
    assert store.lookup(at)[rate] == 1.0  # at the arrival and after: fraud
    assert store.label([Label("t0", 1)]) == [UNCHANGED]
    assert store.label([Label("t0", 0, T0)]) == [CHANGED]  # arrives after the one it replaces
    assert store.lookup(at)[rate] == 0.0 and store.lookup(before)[rate] == 0.0
    assert store.label([Label("nope", 1)]) == [UNKNOWN]


@pytest.mark.parametrize("window", [None, 3 * DAY])
def test_a_label_for_an_id_out_of_the_window_is_unknown(window):
    config = StoreConfig(label_delay=DELAY, dedupe_window=window)
    store = InMemoryStore(config)
    store.observe(txn(0, T0, label=None))
    store.observe(txn(1, T0 + config.id_window + 1.0, label=None))
    assert store.label([Label("t0", 1), Label("t1", 1)]) == [UNKNOWN, APPLIED]
