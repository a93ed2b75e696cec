"""The id registry against the duplicate rule written out naively, whatever the path (one by
one or in blocks), the cuts, the snapshots in between and the hash."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.records import id_registry
from fraudcli.records.id_hash import id_hash, id_hashes
from fraudcli.records.id_registry import IdRegistry


def naive(stream, window):
    """True for each accepted record: no earlier accepted one with its id and ts > N - W."""
    accepted, out = [], []
    for tid, ts in stream:
        newest = max((t for _, t in accepted), default=-math.inf)
        duplicate = any(a == tid and t > newest - window for a, t in accepted)
        out.append(not duplicate)
        if not duplicate:
            accepted.append((tid, ts))
    return out


def through_registry(stream, window, cuts, ways, restores):
    registry, out = IdRegistry(window), []
    bounds = [0, *sorted(cuts), len(stream)]
    for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        part = stream[a:b]
        if ways[k % len(ways)]:
            ids = pa.array([tid for tid, _ in part], pa.string())
            ts = np.array([t for _, t in part], dtype=np.float64)
            keep = registry.admit_block(ids, ts, None, None)
            out += [True] * len(part) if keep is None else keep.tolist()
        else:
            out += [registry.admit(tid, t, None, None) for tid, t in part]
        if restores[k % len(restores)]:
            registry = IdRegistry.from_table(registry.table(), window, registry.newest)
    return out


entries = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "tx-1", "tx-10", ""]), st.integers(0, 60)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    entries,
    st.sampled_from([0.0, 5.0, 20.0, math.inf]),
    st.lists(st.integers(0, 60), max_size=4),
    st.lists(st.booleans(), min_size=1, max_size=4),
    st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_the_rule_whatever_the_path_cuts_and_snapshots(stream, window, cuts, ways, restores):
    stream = [(tid, float(t)) for tid, t in stream]
    cuts = [min(c, len(stream)) for c in cuts]
    want = naive(stream, window)
    assert through_registry(stream, window, cuts, ways, restores) == want
    saved = id_registry._FILTER_AFTER, id_registry._SCANS_MAX
    # one at a time through the filter, early; a restored state's ids compared as strings for
    # two questions, then hashed
    id_registry._FILTER_AFTER, id_registry._SCANS_MAX = 2, 2
    try:
        assert through_registry(stream, window, cuts, ways, restores) == want
    finally:
        id_registry._FILTER_AFTER, id_registry._SCANS_MAX = saved


@pytest.mark.parametrize("seed", range(5))
def test_exact_when_every_hash_collides(seed, monkeypatch):
    """The strings decide: with four hash values for all ids, every row is a candidate."""
    monkeypatch.setattr(id_registry, "id_hash", lambda tid: (id_hash(tid) & 3) << 62)
    monkeypatch.setattr(
        id_registry, "id_hashes", lambda ids: (id_hashes(ids) & np.uint64(3)) << np.uint64(62)
    )
    rng = np.random.default_rng(seed)
    stream = [(f"id{rng.integers(0, 30)}", float(rng.integers(0, 100))) for _ in range(300)]
    cuts = sorted(rng.integers(0, 300, size=6).tolist())
    got = through_registry(stream, 30.0, cuts, [True, False], [False, True, False])
    assert got == naive(stream, 30.0)


def test_many_ids_one_at_a_time_close_segments_and_grow_the_filter(monkeypatch):
    monkeypatch.setattr(id_registry, "_OPEN_MAX", 1000)
    registry = IdRegistry(math.inf)
    n = 6000  # over the filter's first capacity (4,096 hashes) too
    assert all(registry.admit(f"t{i}", float(i), None, None) for i in range(n))
    assert not registry.admit("t5", float(n), None, None)
    assert not registry.admit(f"t{n - 1}", float(n), None, None)
    assert len(registry) == n and registry.table().num_rows == n
    keep = registry.admit_block(
        pa.array(["t7", "new", "new"]), np.array([1.0, 2.0, 3.0]), None, None
    )
    assert keep.tolist() == [False, True, False]


def test_table_keeps_what_can_still_match_with_merchants_and_labels():
    registry = IdRegistry(10.0)
    registry.admit("old", 0.0, "m1", 1)
    registry.admit("mid", 5.0, None, None)
    registry.admit_block(
        pa.array(["new"]), np.array([12.0]), pa.array(["m2"]), np.array([0], dtype=np.int8)
    )
    table = registry.table()
    assert table.to_pylist() == [
        {
            "transaction_id": "mid",
            "ts": 5.0,
            "merchant_id": None,
            "is_fraud": None,
            "label_arrival": None,
        },
        {
            "transaction_id": "new",
            "ts": 12.0,
            "merchant_id": "m2",
            "is_fraud": 0,
            "label_arrival": None,
        },
    ]
    again = IdRegistry.from_table(table, 10.0, registry.newest)
    (position,) = again.find(["new"])
    assert again.entry(position) == (12.0, "m2", 0, None)
    again.set_label(position, 1, 30.0)
    assert again.entry(position) == (12.0, "m2", 1, 30.0)
    assert again.find(["old", "nope"]).tolist() == [-1, -1]
    restored = IdRegistry.from_table(again.table(), 10.0, again.newest)
    assert restored.entry(restored.find(["new"])[0]) == (12.0, "m2", 1, 30.0)


def test_a_version_gives_the_table_as_it_was():
    registry = IdRegistry(math.inf)
    registry.admit_block(pa.array(["a", "b"]), np.array([1.0, 2.0]), None, None)
    then = registry.version()
    registry.admit_block(pa.array(["c"]), np.array([3.0]), None, None)
    assert registry.table(then)["transaction_id"].to_pylist() == ["a", "b"]
    assert registry.table()["transaction_id"].to_pylist() == ["a", "b", "c"]


def test_a_fork_changes_on_its_own():
    registry = IdRegistry(math.inf)
    registry.admit("a", 1.0, None, None)
    fork = registry.fork()
    assert fork.admit("b", 2.0, None, None) and not fork.admit("a", 3.0, None, None)
    assert registry.admit("b", 2.0, None, None) and len(registry) == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=30))
def test_the_column_hash_is_the_one_record_hash(ids):
    ids = [tid for tid in ids if "\ud800" > tid or not any(0xD800 <= ord(c) < 0xE000 for c in tid)]
    array = pa.array(ids, pa.string())
    assert [int(h) for h in id_hashes(array)] == [id_hash(tid) for tid in ids]
    if len(ids) > 2:
        assert id_hashes(array.slice(1)).tolist() == id_hashes(array)[1:].tolist()


def test_long_ids_hash_alike_both_ways():
    ids = ["\uffff" * n for n in range(0, 700, 7)] + ["\x7f" * n for n in range(400, 1100, 3)]
    assert [int(h) for h in id_hashes(pa.array(ids))] == [id_hash(tid) for tid in ids]


def test_runs_merge_as_a_stable_sort_of_both():
    import numpy as np

    from fraudcli.records.id_registry import _merged, _Run

    rng = np.random.default_rng(1)
    for _ in range(200):
        na, nb = rng.integers(0, 40, size=2)
        a = _Run(np.sort(rng.integers(0, 15, na)).astype(np.uint64), rng.integers(0, 99, na))
        b = _Run(np.sort(rng.integers(0, 15, nb)).astype(np.uint64), rng.integers(99, 199, nb))
        merged = _merged(a, b)
        order = np.argsort(np.concatenate([a.hashes, b.hashes]), kind="stable")
        assert (merged.hashes == np.concatenate([a.hashes, b.hashes])[order]).all()
        assert (merged.where == np.concatenate([a.where, b.where])[order]).all()


def test_ids_that_differ_in_a_few_digits_do_not_collide():
    """A counter on each of many days (the simulator's ids, and many issuers'): hashes with
    power-of-two weights made thousands of these meet, each costing a string comparison."""
    ids = [f"tx-202603{day:02d}T000000-7-{n:07d}" for day in range(1, 13) for n in range(20_000)]
    ids += [f"{n:x}" for n in range(20_000)] + [f"TXN{n:012d}" for n in range(20_000)]
    hashes = id_hashes(pa.array(ids, pa.string()))
    assert len(np.unique(hashes)) == len(ids)
    assert [id_hash(tid) for tid in ids[::5_000]] == [int(h) for h in hashes[::5_000]]


def test_runs_merged_one_at_a_time_stop_at_a_size_and_a_block_merges_them(monkeypatch):
    """The record path never merges past `_MERGED_MAX` (a long merge would stall it); the
    answers stay the rule's, and a block's run takes the small runs in."""
    monkeypatch.setattr(id_registry, "_OPEN_MAX", 4)
    monkeypatch.setattr(id_registry, "_MERGED_MAX", 16)
    rng = np.random.default_rng(3)
    stream = [(f"id{rng.integers(0, 500)}", float(t)) for t in range(3000)]
    cuts = sorted(rng.integers(0, 3000, size=8).tolist())
    ways = [False, False, True]
    assert through_registry(stream, 200.0, cuts, ways, [False]) == naive(stream, 200.0)
    registry = IdRegistry(math.inf)
    for i in range(200):
        registry.admit(f"t{i}", float(i), None, None)
    registry.version()  # (closes the open segment)
    sizes = [len(run.hashes) for run in registry._runs]
    assert max(sizes) == 16 and len(sizes) > 10
    registry.admit_block(pa.array([f"b{i}" for i in range(100)]), np.arange(100.0), None, None)
    sizes = [len(run.hashes) for run in registry._runs]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] >= 116


def test_a_restored_state_is_hashed_only_when_a_block_or_many_ids_need_it(monkeypatch):
    registry = IdRegistry(10.0)
    registry.admit_block(pa.array(["a", "b", "c"]), np.array([1.0, 2.0, 3.0]), None, None)
    hashed = []
    monkeypatch.setattr(
        id_registry, "id_hashes", lambda ids: hashed.append(len(ids)) or id_hashes(ids)
    )
    restored = IdRegistry.from_table(registry.table(), 10.0, registry.newest)
    assert [restored.admit(tid, 4.0, None, None) for tid in ["b", "d", "b"]] == [False, True, False]
    assert hashed == []  # a few ids asked one at a time: compared as strings
    keep = restored.admit_block(pa.array(["c", "e"]), np.array([5.0, 5.0]), None, None)
    assert keep.tolist() == [False, True]
    assert 3 in hashed  # the block needed the state's hashes
