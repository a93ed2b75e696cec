"""The link's bookkeeping through an outage (`fraudcli.replay.link`), over a store that fails
when told to: what is deferred is sent once, in order, before any new lookup; beyond the
queue's bound updates are counted lost. (Redis itself: tests/replay/test_worker_faults.py.)"""

from __future__ import annotations

from fraudcli.errors import StateUnavailable
from fraudcli.replay.link import FLUSH_CHUNK, Link


class FlakyStore:
    batch = 256

    def __init__(self) -> None:
        self.away = False
        self.calls: list[tuple[list, bool | list]] = []

    def observe_many(self, txns, lookup):
        if self.away:
            raise StateUnavailable("away")
        self.calls.append((list(txns), lookup))
        return [
            [1.0] if look else []
            for look in ([lookup] * len(txns) if lookup in (True, False) else lookup)
        ]


def probe_of(store):
    def probe():
        if store.away:
            raise StateUnavailable("away")

    return probe


def test_updates_deferred_while_away_are_sent_in_order_before_any_lookup():
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=1000)
    assert link.observe(["a"], [True]) == [[1.0]]
    store.away = True
    assert link.observe(["b", "c"], [True, True]) is None and not link.up
    link.defer(["b", "c"])
    link.tend(now=True)  # still away: nothing sent
    assert link.observe(["d"], [True]) is None  # down: not even tried
    link.defer(["d"])
    store.away = False
    link.tend(now=True)
    assert link.up and link.reconnects == 1 and link.failures == 1
    assert link.observe(["e"], [True]) == [[1.0]]
    sent = [(txns, lookup) for txns, lookup in store.calls]
    assert sent == [(["a"], [True]), (["b", "c", "d"], False), (["e"], [True])]
    assert (link.retried, link.lost) == (3, 0)


def test_a_long_queue_drains_a_chunk_at_a_time_while_batches_join_it():
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=100_000)
    link.up = False
    link.defer([f"q{i}" for i in range(5 * FLUSH_CHUNK)])
    link.tend(now=True)  # back: one chunk sent now
    assert len(link.queue) == 4 * FLUSH_CHUNK
    batches = 0
    while link.observe(["new"], [True]) is None:
        link.defer(["new"])  # answered from the rules, its update behind the queue
        batches += 1
    assert batches == 4 and not link.queue
    flushed = [t for txns, lookup in store.calls if lookup is False for t in txns]
    assert flushed == [f"q{i}" for i in range(5 * FLUSH_CHUNK)] + ["new"] * 4


def test_updates_beyond_the_bound_are_lost_and_counted():
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=5)
    store.away = True
    assert link.observe(list("abc"), [True] * 3) is None
    link.defer(list("abc"))
    link.defer(list("defg"))
    assert list(link.queue) == list("abcde") and link.lost == 2
    link.finish()  # the run ends with Redis away: what is held is lost too
    assert link.lost == 7 and link.counts()["lost_updates"] == 7
