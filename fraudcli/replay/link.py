"""A replay worker's link to the shared (Redis) store, through outages.

While Redis answers, `send` sends a batch's script call at once and `answer` gives the oldest
call's features when they come (`RedisStore.calls`: a few calls in flight, so Redis runs one
while the worker judges the last). When a call fails (refused, reset, timed out:
`StateUnavailable`), the link is down, and every call in flight comes back from `answer`
without features, in order: the caller gives their records rules-only decisions and `defer`s
them, whose updates wait in a bounded queue (beyond `limit`, each one is a lost update,
counted). While down, nothing is sent and nothing waits on Redis: a probe (PING on a new
connection, with a short time-out) runs in the worker's idle time, with backoff (20 ms
doubling to 0.5 s). Once it answers, the queue is sent, in order (each update as the store's
`observe(txn, lookup=False)`), a chunk per batch or idle moment, so no record waits behind the
whole queue: records keep their rules-only answers (and join the queue's end) until it is
empty, then lookups resume. The queue is sent only while no call is in flight (it goes on the
client's own connection), so a user's updates reach Redis in input order.

A failed call may have been applied in part, and a paused server runs what it had received
when it resumes: a deferred update is then applied a second time, which the store's id rule
makes a duplicate, never a double count (`redis_store.lua`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

from fraudcli.errors import StateUnavailable
from fraudcli.records.schema import Txn

BACKOFF_FIRST_NS = 20_000_000
BACKOFF_MAX_NS = 500_000_000
FLUSH_CHUNK = 128  # updates per round trip when the queue is sent (about 10-20 ms here)
QUEUE_LIMIT = 100_000  # updates kept while Redis is away (about 2 minutes at 1,000/s)


class Link:
    """`store`: a RedisStore; `probe()`: raises StateUnavailable unless Redis answers."""

    def __init__(self, store, probe: Callable[[], None], limit: int = QUEUE_LIMIT) -> None:
        self.store, self.probe, self.limit = store, probe, limit
        self.up = True
        self.queue: deque[Txn] = deque()
        self.failures = 0  # calls that failed (each one starts an outage)
        self.reconnects = 0
        self.retried = 0  # deferred updates sent once Redis came back
        self.lost = 0  # updates beyond the queue's bound
        self.round_trips = 0
        self.calls = store.calls()
        self.flight: deque[tuple] = deque()  # (tag, txns, sent), as asked for
        self._backoff = BACKOFF_FIRST_NS
        self._next_probe = 0

    def send(self, tag, txns: Sequence[Txn], lookups: Sequence[bool]) -> None:
        """Ask for the txns' features (PER_CALL at most; [] where not looked up, None for a
        duplicate), the state updated with them: one script call, sent now, answered by
        `answer` in turn. While Redis is away, or while the updates kept meanwhile are still
        being sent (a chunk per call), nothing is sent: `answer` gives them back without."""
        if self.up and self.queue and not self.flight:  # twice what joins it: it drains
            self.flush(chunks=1 + 2 * len(txns) // FLUSH_CHUNK)
        behind = self.flight and not self.flight[-1][2]  # (sent after them: out of order)
        sent = self.up and not self.queue and not behind
        if sent:
            self.round_trips += 1
            try:
                self.calls.send(txns, lookups)
            except StateUnavailable:
                self._failed()
                sent = False
        self.flight.append((tag, txns, sent))

    def answer(self, until_ns: int) -> tuple | None:
        """The oldest call asked for, as (tag, txns, features): features None when it was not
        sent or it failed (the caller answers from the rules and `defer`s the txns). None
        when its answer has not come in by `until_ns` (perf_counter ns)."""
        tag, txns, sent = self.flight[0]
        features = None
        if sent:
            try:
                if not self.calls.ready(until_ns):
                    return None
                features = self.calls.receive()
            except StateUnavailable:
                self._failed()
                return self.answer(until_ns)
        self.flight.popleft()
        return tag, txns, features

    def defer(self, txns: Sequence[Txn]) -> None:
        """Keep the updates of `txns` for when Redis is back (those beyond the bound: lost)."""
        room = max(self.limit - len(self.queue), 0)
        self.queue.extend(txns[:room])
        self.lost += max(len(txns) - room, 0)

    def flush(self, chunks: int | None = None) -> bool:
        """Send the deferred updates, in order (at most `chunks` round trips); False (and
        down) if Redis fails meanwhile."""
        queue, sent = self.queue, 0
        while queue and (chunks is None or sent < chunks):
            chunk = [queue[i] for i in range(min(FLUSH_CHUNK, len(queue)))]
            self.round_trips += 1
            sent += 1
            try:
                self.store.observe_many(chunk, False)
            except StateUnavailable:
                self._down()
                return False
            for _ in chunk:
                queue.popleft()
            self.retried += len(chunk)
        return True

    def tend(self, now: bool = False) -> None:
        """In idle time: when down and a probe is due (or `now`), probe; when up, send a
        chunk of the deferred updates."""
        if not self.up and (now or time.perf_counter_ns() >= self._next_probe):
            try:
                self.probe()
            except StateUnavailable:
                self._backoff = min(self._backoff * 2, BACKOFF_MAX_NS)
                self._next_probe = time.perf_counter_ns() + self._backoff
                return
            self.up, self._backoff = True, BACKOFF_FIRST_NS
            self.reconnects += 1
        if self.up and self.queue and not self.flight:
            self.flush(chunks=1)

    def finish(self) -> None:
        """At the end of the run: what is still queued is lost."""
        self.lost += len(self.queue)
        self.queue.clear()

    def _failed(self) -> None:
        """A call failed: down, and the calls in flight are answered without features."""
        self._down()
        self.calls.drop()
        self.flight = deque((tag, txns, False) for tag, txns, _ in self.flight)

    def _down(self) -> None:
        self.up = False
        self.failures += 1
        self._next_probe = time.perf_counter_ns() + self._backoff

    def counts(self) -> dict[str, int]:
        return {
            "store_failures": self.failures,
            "reconnects": self.reconnects,
            "retried_updates": self.retried,
            "lost_updates": self.lost,
            "round_trips": self.round_trips,
        }
