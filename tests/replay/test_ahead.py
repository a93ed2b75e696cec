"""Records made ahead of the replay loop: the same records as the feed, bounded lead."""

from __future__ import annotations

import time

import pytest

from fraudcli.records.schema import Txn
from fraudcli.replay import ahead
from fraudcli.replay.ahead import Ahead
from fraudcli.replay.feed import Feed


def feed(n: int = 7) -> Feed:
    return Feed([Txn(f"t{i}", 1.7e9 + i, f"u{i % 3}", float(i)) for i in range(n)], 10.0)


def key(txn: Txn) -> tuple:
    return txn.transaction_id, txn.ts, txn.user_id, txn.amount


@pytest.mark.parametrize("lead", [3, 1000])
def test_take_gives_the_feeds_records_in_order(monkeypatch, lead):
    monkeypatch.setattr(ahead, "LEAD", lead)  # small: the taken head is dropped on the way
    source, made = feed(), Ahead(feed(), total=100)
    taken = []
    for i, end in [(0, 1), (1, 5), (5, 5), (5, 19), (19, 40), (40, 41)]:
        taken += made.take(i, end)
    assert [key(t) for t in taken] == [key(source(k)) for k in range(41)]
    assert made.first + len(made.txns) == 41
    assert made.first == (0 if lead == 1000 else 40)


def test_make_until_works_ahead_within_the_lead_and_the_total(monkeypatch):
    monkeypatch.setattr(ahead, "LEAD", 100)
    made = Ahead(feed(), total=250)
    later = time.perf_counter_ns() + 10**9
    made.make_until(later)
    assert made.first + len(made.txns) == 100  # LEAD ahead of the first record not taken
    made.take(0, 90)
    made.make_until(later)
    assert made.first + len(made.txns) == 190
    made.take(90, 200)
    made.make_until(later)
    assert made.first + len(made.txns) == 250  # never beyond the run's records


def test_idle_time_drops_the_records_taken():
    source, made = feed(), Ahead(feed(), total=1000)
    later = time.perf_counter_ns() + 10**9
    made.take(0, ahead.CHUNK)
    made.make_until(later)
    assert made.first == 0  # a chunk or fewer taken: kept until there are more
    made.take(ahead.CHUNK, 2 * ahead.CHUNK)
    made.make_until(later)
    assert made.first == 2 * ahead.CHUNK  # then all dropped at once, in the slack
    assert [key(t) for t in made.take(2 * ahead.CHUNK, 2 * ahead.CHUNK + 5)] == [
        key(source(k)) for k in range(2 * ahead.CHUNK, 2 * ahead.CHUNK + 5)
    ]


def test_no_idle_time_keeps_the_records_taken():
    made = Ahead(feed(), total=1000)
    made.take(0, 300)
    made.make_until(time.perf_counter_ns())
    assert made.first == 0 and len(made.txns) == 300


def test_make_until_makes_nothing_without_slack():
    made = Ahead(feed(), total=100)
    made.make_until(time.perf_counter_ns() + ahead.STEP_NS // 2)
    assert made.txns == []
