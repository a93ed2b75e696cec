"""The user side and the merchant side of the features, each run on its own over any split of
the keys (the Dask engine's partitions), equal the one-record store: from an empty state and
from a stored one."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.features.batch import MERCHANT, USER
from fraudcli.features.continued import ColumnState
from fraudcli.features.spec import DAY
from fraudcli.features.store import StoreConfig
from tests.helpers import DELAY, T0, build, chunk_data, gaps, one_record

record = st.tuples(
    gaps,
    st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
    st.integers(0, 50_000).map(lambda cents: cents / 100),
    st.sampled_from(["m1", "m2", "m3", "m4", None]),
    st.sampled_from(["US", "FR", None]),
    st.sampled_from(["d1", "d2", None]),
    st.sampled_from([0, 1, None]),
    st.sampled_from([None, (48.85, 2.35), (40.71, -74.0)]),
    st.floats(-3 * DAY, 0),
)


def only(tables: dict[str, pa.Table], name: str, column: str, keys: set) -> pa.Table:
    table = tables[name]
    return table.filter(pc.is_in(table[column], pa.array(sorted(keys), pa.string())))


def side_by_side(stored, rest, key, group_of, config):
    """Each group of keys computed on its own; the rows put back in input order."""
    n = len(rest)
    out = np.full((n, 14 if key == "user_id" else 6), np.nan)
    groups = {group_of(getattr(t, key)) for t in rest} | {0, 1}
    for group in groups:
        rows = [i for i, t in enumerate(rest) if group_of(getattr(t, key)) == group]
        keys = {getattr(rest[i], key) for i in rows} | {f"{key[0]}{k}" for k in range(1, 6)}
        keys = {k for k in keys if k is not None and group_of(k) == group}
        empty = ColumnState(config).snapshot()
        mine = dict(empty)
        if key == "user_id":
            mine["user_entries"] = only(stored, "user_entries", "user_id", keys)
            mine["user_last"] = only(stored, "user_last", "user_id", keys)
        else:
            mine["merchant_entries"] = only(stored, "merchant_entries", "merchant_id", keys)
        state = ColumnState.from_snapshot(mine, config)
        chunk = state.chunk(chunk_data([rest[i] for i in rows]))
        got = state.step_users(chunk) if key == "user_id" else state.step_merchants(chunk)
        assert got is not None
        out[rows] = got
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(record, max_size=30),
    st.lists(record, min_size=1, max_size=40),
    st.lists(st.integers(0, 1), min_size=5, max_size=5),
    st.sampled_from([0.0, DELAY, DAY + 0.25]),
)
def test_each_side_on_any_split_of_its_keys_equals_the_one_record_store(
    before, after, split, delay
):
    config = StoreConfig(label_delay=delay, lateness=3 * DAY)
    prefix = build(before, late=True)
    clock = max((t.ts for t in prefix), default=T0)
    rest = build(after, clock, first=len(prefix))
    _, reference = one_record(prefix, config)
    want, _ = one_record(prefix + rest, config)
    want = want[len(prefix) :]

    def group_of(key):
        return -1 if key is None else split[int(key[1:]) - 1]

    stored = reference.snapshot()
    users = side_by_side(stored, rest, "user_id", group_of, config)
    merchants = side_by_side(stored, rest, "merchant_id", group_of, config)
    np.testing.assert_allclose(users, want[:, USER], rtol=1e-9, atol=1e-9)
    no_merchant = [i for i, t in enumerate(rest) if t.merchant_id is None]
    merchants[no_merchant] = 0.0  # the engine gives them the no-history values, unshuffled
    np.testing.assert_allclose(merchants, want[:, MERCHANT], rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(record, max_size=20),
    st.lists(record, min_size=1, max_size=40),
    st.lists(st.integers(0, 1), min_size=5, max_size=5),
)
def test_each_side_takes_rows_late_by_less_than_the_lateness(before, after, split):
    """Rows up to 3 days behind the newest before them (the lateness is a second more): each
    side, on any split of its keys, equals the one-record store."""
    config = StoreConfig(label_delay=7 * DAY, lateness=3 * DAY + 1.0)
    prefix = build(before, late=True)
    clock = max((t.ts for t in prefix), default=T0)
    rest = build(after, clock, first=len(prefix), late=True)
    _, reference = one_record(prefix, config)
    want, _ = one_record(prefix + rest, config)
    want = want[len(prefix) :]

    def group_of(key):
        return -1 if key is None else split[int(key[1:]) - 1]

    stored = reference.snapshot()
    users = side_by_side(stored, rest, "user_id", group_of, config)
    merchants = side_by_side(stored, rest, "merchant_id", group_of, config)
    np.testing.assert_allclose(users, want[:, USER], rtol=1e-9, atol=1e-9)
    no_merchant = [i for i, t in enumerate(rest) if t.merchant_id is None]
    merchants[no_merchant] = 0.0
    np.testing.assert_allclose(merchants, want[:, MERCHANT], rtol=1e-9, atol=1e-9)


def test_one_side_moves_only_its_own_state():
    config = StoreConfig(lateness=60.0)
    stream = build([(60.0, "u1", 5.0, "m1", "US", "d1", 1, None, 0.0)] * 4)
    users, merchants = ColumnState(config), ColumnState(config)
    assert users.step_users(users.chunk(chunk_data(stream))).shape == (4, 14)
    assert merchants.step_merchants(merchants.chunk(chunk_data(stream))).shape == (4, 6)
    assert len(users.u_ts) == 4 and len(users.m_ts) == 0
    assert len(merchants.m_ts) == 4 and len(merchants.u_ts) == 0
    # late by more than the lateness (a row late by less is taken: `late_rows`)
    backwards = build([(0.0, "u1", 5.0, "m1", "US", "d1", 1, None, 0.0)])
    assert users.step_users(users.chunk(chunk_data(backwards))) is None
    assert merchants.step_merchants(merchants.chunk(chunk_data(backwards))) is None
