"""A store restored from a snapshot reads each key's state when first touched: it answers, and
snapshots, exactly as the store restored all at once."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.features.snapshot import StoredState, restore_store
from fraudcli.features.spec import DAY
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.records.labels import Label
from tests.helpers import build, one_record, record


@settings(max_examples=100, deadline=None)
@given(
    st.lists(record, max_size=40),
    st.lists(record, max_size=30),
    st.booleans(),
    st.sampled_from(["lookup-update", "observe"]),
    st.sampled_from([None, 1, 3]),
    st.sampled_from([64, 1, 0]),
    st.lists(st.tuples(st.integers(0, 39), st.integers(0, 1), st.floats(0, 5)), max_size=4),
    st.booleans(),
)
def test_a_lazily_restored_store_is_the_store_restored_at_once(
    before, after, late, way, rows, sliced, labels, sums
):
    """(Tables in chunks of `rows` rows too, a key's rows across chunks, as a file in row
    groups reads; keys read by slicing the tables, or from their lists after `sliced` keys;
    labels given after the fact in the stored state; user entries without their running sums,
    as the column path writes them.)"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StoredState, "SLICED_READS", sliced)
        _lazily_restored(before, after, late, way, rows, labels, sums)


def _lazily_restored(before, after, late, way, rows, labels=(), sums=True) -> None:
    config = StoreConfig(label_delay=2 * DAY, lateness=3 * DAY)
    prefix = build(before, late=late)
    original = InMemoryStore(config)
    for t in prefix:
        original.observe(t)  # (its id registered: labels find it)
    if prefix and labels:
        clock = max(t.ts for t in prefix)
        original.label(
            [Label(f"t{i % len(prefix)}", value, clock + days * DAY) for i, value, days in labels]
        )
    tables = original.snapshot()
    if not sums:
        tables["user_entries"] = tables["user_entries"].drop_columns(["cum_amount"])
    if rows:
        tables = {n: pa.Table.from_batches(t.to_batches(max_chunksize=rows), t.schema)
                  for n, t in tables.items()}  # fmt: skip
    eager = restore_store(InMemoryStore(config), tables)
    lazy = InMemoryStore.restore(tables, config)
    clock = max((t.ts for t in prefix), default=0.0)
    for t in build(after, clock, late=True, first=len(prefix)):  # known users, and new ones
        if way == "observe":
            assert lazy.observe(t) == eager.observe(t)
        else:
            assert lazy.lookup(t) == eager.lookup(t)
            lazy.update(t)
            eager.update(t)
    wanted = eager.snapshot()
    partly_read = lazy.snapshot()  # the keys not read taken from the stored tables
    assert list(partly_read) == list(wanted)
    for name, table in wanted.items():
        assert partly_read[name].equals(table), name
    assert list(lazy.users) == list(eager.users)
    assert list(lazy.merchants) == list(eager.merchants)
    for name, table in wanted.items():
        assert lazy.snapshot()[name].equals(table), name


def test_nothing_is_read_but_the_keys_touched():
    config = StoreConfig()
    stream = build(
        [(60.0, f"u{i % 5}", 5.0, f"m{i % 3}", "US", None, 0, None, 0.0) for i in range(30)]
    )
    _, original = one_record(stream, config)
    lazy = InMemoryStore.restore(original.snapshot(), config)
    lazy.lookup(stream[0])
    assert list(lazy._users) == ["u0"] and list(lazy._merchants) == ["m0"]
    assert len(lazy.users) == 5  # asked for: every one is read


def test_a_warmed_store_has_read_every_key_and_made_its_filter_and_answers_the_same():
    config = StoreConfig()
    stream = build(
        [(60.0, f"u{i % 5}", 5.0, f"m{i % 3}", "US", None, 0, None, 0.0) for i in range(30)]
    )
    _, original = one_record(stream, config)
    tables = original.snapshot()
    cold, warm = InMemoryStore.restore(tables, config), InMemoryStore.restore(tables, config)
    warm.warm()
    assert list(warm._users) == [f"u{i}" for i in range(5)] and len(warm._merchants) == 3
    assert warm.ids._filter is not None and cold.ids._filter is None
    later = build([(60.0, "u1", 7.0, "m2", "US", None, 0, None, 0.0)], stream[-1].ts, first=30)
    again = build([(60.0, "u1", 7.0, "m2", "US", None, 0, None, 0.0)], stream[-1].ts, first=0)
    for t in [*later, *again]:  # a new id, then one the state already holds (a duplicate)
        assert warm.observe(t) == cold.observe(t)
    assert warm.observe(again[0]) is None


@pytest.mark.parametrize("sums", [True, False])
def test_a_snapshot_takes_the_keys_not_read_from_the_stored_tables_as_restored(sums):
    """Amounts whose running sums round (0.1 + 0.2): without the sums in the tables, the
    store restored at once gives the amounts back as differences of sums, and so must the
    snapshot of a store that never read those keys."""
    config = StoreConfig()
    amounts = [0.1, 0.2, 0.7, 1.1, 2.2, 3.3]
    stream = build(
        [(60.0, f"u{i % 4}", amounts[i % 6], f"m{i % 3}", "US", None, 0, None, 0.0)
         for i in range(40)]
    )  # fmt: skip
    original = InMemoryStore(config)
    for t in stream:
        original.observe(t)
    tables = original.snapshot()
    if not sums:  # as the column path writes them: the amounts as given, no running sums
        entries = tables["user_entries"].drop_columns(["cum_amount"])
        users = entries["user_id"].to_pylist()
        given = [t.amount for user in dict.fromkeys(users) for t in stream if t.user_id == user]
        assert given != entries["amount"].to_pylist()  # (some sums rounded)
        amount = entries.column_names.index("amount")
        tables["user_entries"] = entries.set_column(amount, "amount", pa.array(given))
    eager = restore_store(InMemoryStore(config), tables)
    lazy = InMemoryStore.restore(tables, config)
    later = build([(60.0, "u1", 7.0, "m2", "US", None, 0, None, 0.0)], stream[-1].ts, first=40)
    assert lazy.observe(later[0]) == eager.observe(later[0])
    assert list(lazy._users) == ["u1"]  # u0, u2, u3 never read
    for name, table in eager.snapshot().items():
        assert lazy.snapshot()[name].equals(table), name
    assert list(lazy._users) == ["u1"]  # nor read by the snapshot
