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
        self.away_after = None  # answers given before Redis goes away mid-batch
        self.calls: list[tuple[list, bool | list]] = []

    def observe_ahead(self, txns, lookups):
        """Two answers at a time (as `RedisStore.observe_ahead` gives AHEAD)."""
        for k in range(0, len(txns), 2):
            if self.away_after is not None and k >= self.away_after:
                self.away, self.away_after = True, None
            yield self.observe_many(txns[k : k + 2], lookups[k : k + 2])

    def observe_many(self, txns, lookup):
        if self.away:
            raise StateUnavailable("away")
        self.calls.append((list(txns), lookup))
        return [
            [1.0] if look else []
            for look in ([lookup] * len(txns) if lookup in (True, False) else lookup)
        ]


def answered(link, txns, lookups):
    """What the link answered, in order (fewer than asked: the rest goes to the rules)."""
    return [row for part in link.observe(txns, lookups) for row in part]


def probe_of(store):
    def probe():
        if store.away:
            raise StateUnavailable("away")

    return probe


def test_updates_deferred_while_away_are_sent_in_order_before_any_lookup():
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=1000)
    assert answered(link, ["a"], [True]) == [[1.0]]
    store.away = True
    assert answered(link, ["b", "c"], [True, True]) == [] and not link.up
    link.defer(["b", "c"])
    link.tend(now=True)  # still away: nothing sent
    assert answered(link, ["d"], [True]) == []  # down: not even tried
    link.defer(["d"])
    store.away = False
    link.tend(now=True)
    assert link.up and link.reconnects == 1 and link.failures == 1
    assert answered(link, ["e"], [True]) == [[1.0]]
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
    while not answered(link, ["new"], [True]):
        link.defer(["new"])  # answered from the rules, its update behind the queue
        batches += 1
    assert batches == 4 and not link.queue
    flushed = [t for txns, lookup in store.calls if lookup is False for t in txns]
    assert flushed == [f"q{i}" for i in range(5 * FLUSH_CHUNK)] + ["new"] * 4


def test_updates_beyond_the_bound_are_lost_and_counted():
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=5)
    store.away = True
    assert answered(link, list("abc"), [True] * 3) == []
    link.defer(list("abc"))
    link.defer(list("defg"))
    assert list(link.queue) == list("abcde") and link.lost == 2
    link.finish()  # the run ends with Redis away: what is held is lost too
    assert link.lost == 7 and link.counts()["lost_updates"] == 7


def test_records_answered_before_redis_went_away_stand():
    """Redis goes away after the first two answers of a batch of five: those two are the
    store's, the other three go to the rules and are deferred, sent first when it is back."""
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=1000)
    store.away_after = 2
    assert answered(link, list("abcde"), [True] * 5) == [[1.0], [1.0]] and not link.up
    link.defer(list("cde"))
    store.away = False
    link.tend(now=True)
    assert [txns for txns, lookup in store.calls] == [["a", "b"], ["c", "d", "e"]]
    assert store.calls[1][1] is False and link.retried == 3
