"""The replay loop: records paced on an absolute schedule through the real pipeline (run by
`fraudcli.replay.driver.replay`).

Each pass of the loop asks the schedule how many records are due by now and decides all of
them (a batch; about 1 ms of records at high rates). It never sleeps while behind and never
moves the schedule, so a stall makes the records behind it late and their latency (decision
ready - due) counts the queueing. Service time (inside the pipeline) is recorded beside it.

The garbage collector is frozen and disabled for the run (`driver.quiet_gc`). In idle slack
between batches the youngest generation is collected (about 2,000 objects, well under a
millisecond), and what survives ten of those is frozen rather than collected: a collection of
the middle generation walks some 20,000 objects, 6-8 ms at 10,000/s, more than any slack, while
the pipeline makes no reference cycles (a full collection after a run finds none).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraudcli.replay.ahead import Ahead
from fraudcli.replay.faults import SlowStore
from fraudcli.replay.feed import Feed
from fraudcli.replay.latency import LatencyRecorder, p99_ms
from fraudcli.replay.schedule import NS, Schedule, wait_until
from fraudcli.scoring.interrupts import deliver, region

if TYPE_CHECKING:
    from fraudcli.replay.options import ReplayOptions

UNBOUNDED = sys.maxsize
MAX_BATCH = 256  # --max: records per pass between duration checks
JUDGE_MIN = 64  # from this many records, a batch is judged at once (fraudcli.decision.batch_judge)
GC_SLACK_NS = 300_000  # collect young objects only with this much idle time ahead
GC_YOUNG = 2_000  # ... and only once this many allocations are pending
PROGRESS_NS = NS // 2
INITIAL_CAPACITY = 1 << 24  # records; beyond it the recorder grows (memory is touched lazily)


@dataclass(frozen=True)
class LiveStats:
    """What the live view shows, every half second."""

    elapsed_s: float
    decided: int
    total: int | None
    rate: float
    p99_ms: float
    degraded: int


class ReplayLoop:
    """One run's state. `_batch` is the hot loop: locals only, results written into the
    preallocated recorder; the only per-record objects of our own are the looped copies."""

    def __init__(self, feed: Feed, pipeline, schedule: Schedule | None, total: int) -> None:
        self.feed, self.pipeline, self.schedule, self.total = feed, pipeline, schedule, total
        self.rec = LatencyRecorder(min(total, INITIAL_CAPACITY))
        self.ahead = Ahead(feed, total)
        self.counts: dict[str, int] = {}
        self.interrupted = False
        self.duration_ns = UNBOUNDED
        self.deadline_ns: int | None = None
        self.batch_ns = 1_000_000
        self.store: SlowStore | None = None
        self.on_progress: Callable[[LiveStats], None] | None = None

    def configure(self, options: ReplayOptions, store, on_progress) -> None:
        if options.duration is not None:
            self.duration_ns = int(options.duration * NS)
        if options.deadline_ms is not None:
            self.deadline_ns = int(options.deadline_ms * 1e6)
        self.batch_ns = int(options.batch_ms * 1e6)
        self.store, self.on_progress = store, on_progress

    def run(self) -> None:
        self.t0 = self._last_progress = time.perf_counter_ns()
        self._progress_count = 0
        try:
            self._paced() if self.schedule is not None else self._flat_out()
        except KeyboardInterrupt:
            self.interrupted = True

    def _paced(self) -> None:
        """Decide every record as it falls due; wait (sleep, then a short spin) when ahead.

        Wake-ups are at least `batch_ns` apart on an absolute grid (not `batch_ns` after a late
        wake-up), so at low rates each record is woken for at its due time and at high rates
        records go in ~1 ms batches, without drift."""
        t0, schedule, total, batch = self.t0, self.schedule, self.total, self.batch_ns
        clock, i, wake = time.perf_counter_ns, 0, t0 - batch
        while i < total:
            end = min(schedule.count_due(clock() - t0), total)
            if end <= i:
                wake = max(t0 + schedule.due(i), wake + batch)
                self._idle(wake)
                continue
            while end > self.rec.capacity:
                self.rec.grow()
            self._batch(i, end, schedule.due)
            i = end

    def _flat_out(self) -> None:
        """--max: no schedule; each record is due when the loop reaches it."""
        clock, i = time.perf_counter_ns, 0
        while i < self.total and clock() - self.t0 < self.duration_ns:
            end = min(i + MAX_BATCH, self.total)
            while end > self.rec.capacity:
                self.rec.grow()
            self._batch(i, end, None)
            i = end
            if self.on_progress is not None:
                self._progress(clock())

    def _batch(self, i: int, end: int, due_of: Callable[[int], int] | None) -> None:
        """Ctrl-C and SIGTERM wait for the batch's end (when held: `held_signals`), so a
        state saved after an interrupt holds whole records only."""
        with region():
            if self.deadline_ns is None and end - i >= JUDGE_MIN:
                self._judged_together(i, end, due_of)
            else:
                self._one_by_one(i, end, due_of)
        deliver()

    def _one_by_one(self, i: int, end: int, due_of: Callable[[int], int] | None) -> None:
        """Each record decided in turn, its decision ready as soon as it is decided. What
        `_record` does is written out here: this loop's own cost is on every record."""
        decide, fallback = self.pipeline.decide, self.pipeline.decide_degraded
        deadline, store, clock, t0 = self.deadline_ns, self.store, time.perf_counter_ns, self.t0
        rec, counts = self.rec, self.counts
        dues, latencies, services, degraded = rec.due, rec.latency, rec.service, rec.degraded
        due_at = None if due_of is None else [t0 + d for d in map(due_of, range(i, end))]
        for k, txn in enumerate(self.ahead.take(i, end), i):
            start = clock()
            due = start if due_at is None else due_at[k - i]
            if deadline is None:
                decision = decide(txn)[1]
            elif start - due >= deadline:  # already too late: answer from the rules now
                decision = fallback(txn)
            else:
                store.deadline_ns = due + deadline
                decision = decide(txn)[1]
            done = clock()
            dues[k], latencies[k], services[k] = due - t0, done - due, done - start
            if decision.degraded:  # the recorder starts all False
                degraded[k] = True
            counts[decision.decision] = counts.get(decision.decision, 0) + 1
            rec.count = k + 1

    def _judged_together(self, i: int, end: int, due_of: Callable[[int], int] | None) -> None:
        """Look up and update record by record, then judge the batch at once; a record's
        decision is ready with the batch's. Judging (features aside) costs per record about
        5.1 us one by one, 3.7 us in batches of 64, 2.6 us of 128, and more than one by one
        under ~40 (NumPy's fixed cost per call), so it is for a loop catching up on a backlog
        (at 50,000/s, 64 records are 1.3 ms of them), and for --max."""
        t0, observe, clock = self.t0, self.pipeline.observe, time.perf_counter_ns
        looked: list[tuple[int, int, int]] = []  # (k, due, ns spent on its lookup and update)
        txns, features = self.ahead.take(i, end), []
        for k, txn in enumerate(txns, i):
            start = clock()
            due = start if due_of is None else t0 + due_of(k)
            features.append(observe(txn))
            looked.append((k, due, clock() - start))
        started = clock()
        decisions = self.pipeline.judge_many(txns, features)
        done = clock()
        share = (done - started) // len(looked)  # the batch's judging, shared out
        for (k, due, spent), decision in zip(looked, decisions, strict=True):
            self._record(k, due, done - spent - share, done, decision)
        self.rec.count = end

    def _record(self, k: int, due: int, start: int, done: int, decision) -> None:
        rec = self.rec
        rec.due[k], rec.latency[k], rec.service[k] = due - self.t0, done - due, done - start
        rec.degraded[k] = decision.degraded
        self.counts[decision.decision] = self.counts.get(decision.decision, 0) + 1

    def _idle(self, target: int) -> None:
        """Use the slack before `target`: young-generation GC, the live view, records made
        ahead; then wait."""
        now = time.perf_counter_ns()
        if target - now > GC_SLACK_NS:
            young, middle, _ = gc.get_count()
            if young > GC_YOUNG:
                gc.collect(0)
                if middle >= 10:  # what survived ten young collections: out of the way
                    gc.freeze()
        if self.on_progress is not None:
            self._progress(now)
        self.ahead.make_until(target)
        wait_until(target)

    def _progress(self, now: int) -> None:
        if now - self._last_progress < PROGRESS_NS:
            return
        rec, since = self.rec, self._progress_count
        window = (now - self._last_progress) / NS
        self.on_progress(
            LiveStats(
                elapsed_s=(now - self.t0) / NS,
                decided=rec.count,
                total=self.total if self.total < UNBOUNDED else None,
                rate=(rec.count - since) / window,
                p99_ms=p99_ms(rec.latency[since : rec.count]),
                degraded=int(rec.degraded[: rec.count].sum()),
            )
        )
        self._last_progress, self._progress_count = now, rec.count
