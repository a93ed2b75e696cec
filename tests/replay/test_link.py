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
        self.calls_made: list[tuple[list, bool | list]] = []

    def calls(self):
        return FlakyCalls(self)

    def observe_many(self, txns, lookup):
        if self.away:
            raise StateUnavailable("away")
        self.calls_made.append((list(txns), lookup))
        return [
            [1.0] if look else []
            for look in ([lookup] * len(txns) if lookup in (True, False) else lookup)
        ]


class FlakyCalls:
    """`RedisStore.calls` over the flaky store: a call is applied when sent, its answer read
    later (or never: the store went away in between)."""

    def __init__(self, store: FlakyStore) -> None:
        self.store = store
        self.flight: list = []

    def send(self, txns, lookups):
        self.flight.append(self.store.observe_many(txns, list(lookups)))

    def ready(self, until_ns):
        if self.store.away:
            raise StateUnavailable("away")
        return True

    def receive(self):
        return self.flight.pop(0)

    def drop(self):
        self.flight.clear()


def answered(link, txns, lookups):
    """What the link answered for one call: its features, or None (away: to the rules)."""
    link.send("tag", txns, lookups)
    tag, back, features = link.answer(0)
    assert (tag, back) == ("tag", txns)
    return features


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
    assert answered(link, ["b", "c"], [True, True]) is None and not link.up
    link.defer(["b", "c"])
    link.tend(now=True)  # still away: nothing sent
    assert answered(link, ["d"], [True]) is None  # down: not even tried
    link.defer(["d"])
    store.away = False
    link.tend(now=True)
    assert link.up and link.reconnects == 1 and link.failures == 1
    assert answered(link, ["e"], [True]) == [[1.0]]
    sent = [(txns, lookup) for txns, lookup in store.calls_made]
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
    while answered(link, ["new"], [True]) is None:
        link.defer(["new"])  # answered from the rules, its update behind the queue
        batches += 1
    assert batches == 4 and not link.queue
    flushed = [t for txns, lookup in store.calls_made if lookup is False for t in txns]
    assert flushed == [f"q{i}" for i in range(5 * FLUSH_CHUNK)] + ["new"] * 4


def test_updates_beyond_the_bound_are_lost_and_counted():
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=5)
    store.away = True
    assert answered(link, list("abc"), [True] * 3) is None
    link.defer(list("abc"))
    link.defer(list("defg"))
    assert list(link.queue) == list("abcde") and link.lost == 2
    link.finish()  # the run ends with Redis away: what is held is lost too
    assert link.lost == 7 and link.counts()["lost_updates"] == 7


def test_calls_in_flight_when_redis_goes_away_come_back_in_order_without_features():
    """Three calls in flight; the first is answered, then Redis goes away: the other two come
    back without features, in order, and nothing is sent until they have been (a call asked
    for meanwhile comes back without features after them); once back, their updates go
    first, in order."""
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=1000)
    for name in ("a", "b", "c"):
        link.send(name, [name], [True])
    assert link.answer(0) == ("a", ["a"], [[1.0]])
    store.away = True
    link.send("d", ["d"], [True])  # (away: not sent)
    back = [link.answer(0) for _ in range(3)]
    assert back == [("b", ["b"], None), ("c", ["c"], None), ("d", ["d"], None)]
    assert not link.up and not link.flight and link.failures == 1
    link.defer(["b", "c", "d"])
    store.away = False
    link.tend(now=True)
    assert [txns for txns, _ in store.calls_made] == [["a"], ["b"], ["c"], ["b", "c", "d"]]
    assert store.calls_made[-1][1] is False and link.retried == 3


def test_nothing_is_sent_while_a_call_that_failed_is_still_to_be_given_back():
    """Redis goes away and comes back before the caller has taken the failed call back: a
    new call waits (without features) behind it, so updates stay in order."""
    store = FlakyStore()
    link = Link(store, probe_of(store), limit=1000)
    link.send("a", ["a"], [True])
    store.away = True
    link.send("b", ["b"], [True])
    with_failure = link.answer(0)
    assert with_failure == ("a", ["a"], None) and not link.up
    store.away = False
    link.tend(now=True)  # back up, with "b" still in flight as failed
    link.send("c", ["c"], [True])
    assert link.answer(0) == ("b", ["b"], None)
    assert link.answer(0) == ("c", ["c"], None)
    assert [txns for txns, _ in store.calls_made] == [["a"]]  # ("b": refused, away)
