"""The distributed form of the duplicate rule (`fraudcli.engines.dask.duplicates`) answers as
the id registry does, record by record: on Hypothesis streams with repeated ids, timestamps
that jump back and forth, any window, any cut into input partitions and any spread of the ids
over shuffled partitions. Pure functions: no cluster needed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.engines.dask.duplicates import candidates, first_maxima, repeated, windowed
from fraudcli.engines.dask.stored import stored_ids
from fraudcli.records.id_registry import IdRegistry

HOUR = 3600.0
row = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e", "f"]),
    st.sampled_from([0.0, 0.0, 1.0, HOUR, 5 * HOUR, -HOUR, -5 * HOUR, 24 * HOUR]),
)


def registry_duplicates(rows, window: float, newest: float = -math.inf) -> list[int]:
    registry = IdRegistry(window, newest)
    return [i for i, (tid, ts) in enumerate(rows) if not registry.admit(tid, ts, None, None)]


def distributed_duplicates(rows, window, cuts, spread, newest=-math.inf, state=None) -> list[int]:
    frame = pd.DataFrame(
        {"transaction_id": [r[0] for r in rows], "seq": np.arange(len(rows), dtype=np.int64),
         "ts": np.array([r[1] for r in rows], dtype=np.float64)}
    )  # fmt: skip
    bounds = [0, *sorted({min(c, len(rows)) for c in cuts}), len(rows)]
    inputs = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    known = stored_ids(state)
    every = frame if known is None else pd.concat([frame, known], ignore_index=True)
    # a shuffle: each id's rows in one partition, in no particular order
    where = every["transaction_id"].map(lambda tid: spread["abcdef".index(tid)])
    shuffled = [every[where == k].sample(frac=1.0, random_state=k) for k in range(3)]
    found = [repeated(part) for part in shuffled]
    seen_again = candidates(found)
    maxima = [first_maxima(part, seen_again) for part in inputs]
    return windowed(found, maxima, window, newest).seqs.tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(row, max_size=40),
    st.sampled_from([0.0, HOUR, 2 * HOUR, 6 * HOUR, 30 * HOUR, math.inf]),
    st.lists(st.integers(0, 40), max_size=5),
    st.lists(st.integers(0, 2), min_size=6, max_size=6),
    st.sampled_from([-math.inf, 0.0, 10 * HOUR]),
)
def test_the_distributed_rule_is_the_registry_s(steps, window, cuts, spread, newest):
    clock, rows = 1.7e9, []
    for tid, step in steps:
        clock += step
        rows.append((tid, clock))
    newest = newest if newest == -math.inf else 1.7e9 + newest
    want = registry_duplicates(rows, window, newest)
    assert distributed_duplicates(rows, window, cuts, spread, newest) == want


@settings(max_examples=200, deadline=None)
@given(
    st.lists(row, max_size=25),
    st.lists(row, max_size=25),
    st.sampled_from([HOUR, 6 * HOUR, 30 * HOUR, math.inf]),
    st.lists(st.integers(0, 25), max_size=3),
    st.lists(st.integers(0, 2), min_size=6, max_size=6),
)
def test_continuing_a_state_s_registry(before, after, window, cuts, spread):
    """The ids a state accepted (its `transactions` table, which may hold an id twice) come
    before every row, N starting from the state's newest."""
    clock, stream = 1.7e9, []
    for tid, step in before + after:
        clock += step
        stream.append((tid, clock))
    first, rest = stream[: len(before)], stream[len(before) :]
    registry = IdRegistry(window)
    for tid, ts in first:
        registry.admit(tid, ts, None, None)
    table, newest = registry.table(), registry.newest
    again = IdRegistry.from_table(table, window, newest)
    want = [i for i, (tid, ts) in enumerate(rest) if not again.admit(tid, ts, None, None)]
    got = distributed_duplicates(rest, window, cuts, spread, newest, {"transactions": table})
    assert got == want


def test_a_rejected_repeat_does_not_move_the_clock():
    """A resend stamped a day later is a duplicate, and its time is not N for what follows:
    the id seen again after it, within the window of the records accepted, is a duplicate."""
    rows = [("a", 0.0), ("a", 24 * HOUR), ("b", HOUR), ("a", 2 * HOUR), ("c", 30 * HOUR),
            ("a", 31 * HOUR)]  # fmt: skip
    assert registry_duplicates(rows, 6 * HOUR) == [1, 3]
    assert distributed_duplicates(rows, 6 * HOUR, [2, 3], [0, 1, 2, 0, 1, 2]) == [1, 3]
