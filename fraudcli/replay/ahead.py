"""The records of a run, made ahead of the loop that replays them.

Records of the first pass are the loaded ones, ready before the clock starts. Each record of a
later `--loop` pass is a new `Txn` (a copy with its own id and timestamp, `Feed`), which costs
about 1.5 us: as much as a tenth of the pipeline's own work per record. Made while records wait,
that is the harness slowing the system it measures, so copies are made in the idle slack before
they fall due, in small chunks, up to `LEAD` records ahead. A batch that finds its records not
made yet (no slack: `--max`, or a loop behind schedule) makes them itself.

Freeing a copy costs time too: records already taken are dropped in idle time as well (16,384
of them dropped at once held one batch up for 2-3 ms), or by `take` once `LEAD` of them pile up.
"""

from __future__ import annotations

import time

from fraudcli.records.schema import Txn
from fraudcli.replay.feed import Feed

LEAD = 16_384  # records made ahead at most (a few MB)
CHUNK = 64  # records made per step of idle time (about 0.1 ms)
STEP_NS = 200_000  # a step is taken only with this much idle time left


class Ahead:
    """`take(i, end)`: records i..end-1 of the run (each range follows the one before).
    Nothing is made at or beyond `total`, the records the run will decide."""

    def __init__(self, feed: Feed, total: int) -> None:
        self.feed, self.total = feed, total
        self.first = 0  # the run index of txns[0]
        self.next = 0  # the first record not taken yet
        self.txns: list[Txn] = []

    def take(self, i: int, end: int) -> list[Txn]:
        """Records i..end-1; the ones before i are dropped now and then (never asked again)."""
        self._make(end)
        start = i - self.first
        taken = self.txns[start : end - self.first]
        self.next = end
        if start > LEAD:  # deleting a list's head costs its length: do it in chunks
            del self.txns[:start]
            self.first = i
        return taken

    def make_until(self, deadline_ns: int) -> None:
        """Drop the records taken, then make records ahead, a chunk at a time, while
        `deadline_ns` is more than a step away."""
        clock = time.perf_counter_ns
        if self.next - self.first > CHUNK and clock() + STEP_NS < deadline_ns:
            del self.txns[: self.next - self.first]
            self.first = self.next
        while clock() + STEP_NS < deadline_ns:
            made, end = self.first + len(self.txns), min(self.next + LEAD, self.total)
            if made >= end:
                return
            self._make(min(made + CHUNK, end))

    def _make(self, end: int) -> None:
        made = self.first + len(self.txns)
        if made < end:
            self.txns.extend(map(self.feed, range(made, end)))
