"""One replay worker's loop over a shared (Redis) store: its share of the run's records, each
due at its time on the run's one absolute schedule (the same start T0 in every worker).

The records due are sent in one call (`Link.send`: the store's script per record, each
atomic) once `batch_ns` has passed since the last call, or at once when a full call's
records (PER_CALL) are due; each call is judged when its answer comes in (`Link.answer`).
Up to `DEPTH` calls are in flight: when the worker falls behind, Redis runs the next call
while the worker judges the last, so their times overlap rather than add up. A record
already later than `--deadline-ms` when sent is answered from the rules (degraded) and only
its update is sent; when Redis is away, the whole call is (`fraudcli.replay.link`). In
between, the worker sleeps (it shares the cores with Redis and the other workers: no
spinning), or waits on Redis's socket, and sends what it has decided to the parent.

Per record it keeps: run index, due time (after T0), latency (ready - due), service time (its
call's time from sent to judged, shared out), degraded, and a decision code (`CODES`; FAILED
for a record whose earlier attempt was lost with a killed worker and that the store now says
it holds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from fraudcli.decision.engine import DECISIONS
from fraudcli.features.redis_store import PER_CALL
from fraudcli.replay.link import Link
from fraudcli.replay.schedule import NS
from fraudcli.scoring.pipeline import DUPLICATE, record_values
from fraudcli.scoring.shared_items import judged_batch

CODES = {name: code for code, name in enumerate(DECISIONS)} | {DUPLICATE.decision: 3}
FAILED = -1
DEPTH = 2  # calls in flight at most: Redis runs one while the worker judges the other
SEND_NS = NS // 10  # results go to the parent every 0.1 s


class Results:
    """Preallocated arrays, one slot per record of the share; `sent` of them already sent."""

    def __init__(self, runs: np.ndarray) -> None:
        n = len(runs)
        self.runs = runs
        self.due = np.zeros(n, dtype=np.int64)
        self.latency = np.zeros(n, dtype=np.int64)
        self.service = np.zeros(n, dtype=np.int64)
        self.degraded = np.zeros(n, dtype=np.bool_)
        self.code = np.full(n, FAILED, dtype=np.int8)
        self.count = self.sent = 0

    def unsent(self) -> dict[str, np.ndarray]:
        """The records decided since the last call, as arrays (copies)."""
        part = slice(self.sent, self.count)
        self.sent = self.count
        names = ("runs", "due", "latency", "service", "degraded", "code")
        return {name: getattr(self, name)[part].copy() for name in names}


class SharedLoop:
    """`feed(k)`: record k of the run; `runs`: this worker's run indices, in order; `dues`:
    their due times after T0 (ns; None: --max, each due when reached); `retry`: flags of the
    records a killed worker held (their DUPLICATE answer means: applied, decision lost)."""

    def __init__(self, feed, runs, dues, pipeline, link: Link, retry=None) -> None:
        self.feed, self.dues, self.pipeline, self.link = feed, dues, pipeline, link
        self.res = Results(runs)
        self.retry = retry
        self.deadline_ns: int | None = None
        self.batch_ns = 1_000_000
        self.send: Callable[[dict, dict], None] = lambda part, counts: None
        self.stopping: Callable[[], bool] = lambda: False
        self.stopped = False
        self._next = 0  # the first record not asked for yet
        self._asked = -(2**62)  # when the last call was sent

    def run(self, t0: int) -> None:
        """Decide every record of the share, from T0 (perf_counter ns) on."""
        self.t0 = t0
        self._last_send = time.perf_counter_ns()
        link, clock = self.link, time.perf_counter_ns
        while (self._next < len(self.res.runs) and not self.stopped) or link.flight:
            ask = self._ask_at()
            if ask is not None and ask <= clock():
                self._ask()
            elif link.flight:
                got = link.answer(ask if ask is not None else clock() + SEND_NS)
                if got is not None:
                    self._answered(*got)
            else:  # (nothing in flight, records left: `ask` is when the next call goes)
                self._idle(ask)
            if clock() - self._last_send > SEND_NS:
                self._send()
                self.stopped = self.stopped or self.stopping()
        self.link.tend(now=True)  # a last chance for the updates still held
        if self.link.up:
            self.link.flush()
        self.link.finish()
        self._send()

    def _ask_at(self) -> int | None:
        """When the next call is to be sent (perf_counter ns): once its first record is due
        and `batch_ns` after the last call, or at once when a full call's records are due;
        None while none can be (the records all asked for, a stop, or `DEPTH` in flight)."""
        i, n = self._next, len(self.res.runs)
        if i >= n or self.stopped or len(self.link.flight) >= DEPTH:
            return None
        if self.dues is None:
            return 0
        full = self.t0 + int(self.dues[min(i + PER_CALL, n) - 1])
        return max(self.t0 + int(self.dues[i]), min(self._asked + self.batch_ns, full))

    def _ask(self) -> None:
        """Send the records due now (PER_CALL at most) in one call. A record already later
        than --deadline-ms is not looked up: only its update is sent."""
        res, i, t0 = self.res, self._next, self.t0
        start = time.perf_counter_ns()
        if self.dues is None:
            end = min(i + PER_CALL, len(res.runs))
            res.due[i:end] = start - t0
        else:
            end = min(int(np.searchsorted(self.dues, start - t0, side="right")), i + PER_CALL)
            res.due[i:end] = self.dues[i:end]
        txns = [self.feed(int(k)) for k in res.runs[i:end]]
        lookups = [True] * len(txns)
        if self.deadline_ns is not None:
            lookups = ((start - t0 - res.due[i:end]) < self.deadline_ns).tolist()
        self.link.send((i, lookups, start), txns, lookups)
        self._next, self._asked = end, start

    def _answered(self, tag: tuple, txns: list, features: list | None) -> None:
        """A call's records, judged from their features, or (none: Redis away, or the
        updates kept meanwhile still going out) from the rules, their updates deferred."""
        i, lookups, start = tag
        if features is None:
            self.link.defer(txns)
            features, lookups = [[]] * len(txns), [False] * len(txns)
        self._decided(i, len(txns), decisions_of(self.pipeline, txns, features, lookups))
        self.res.service[i : i + len(txns)] = (time.perf_counter_ns() - start) // len(txns)
        self.res.count = i + len(txns)

    def _decided(self, i: int, count: int, decisions: list) -> None:
        """Records i..i + count, decided now."""
        res = self.res
        rows = slice(i, i + count)
        res.latency[rows] = time.perf_counter_ns() - self.t0 - res.due[rows]
        res.degraded[rows] = [d.degraded for d in decisions]
        codes = [CODES[d.decision] for d in decisions]
        if self.retry is not None:
            codes = [
                FAILED if c == 3 and r else c for c, r in zip(codes, self.retry[rows], strict=True)
            ]
        res.code[rows] = codes

    def _idle(self, wake: int) -> None:
        """Nothing in flight: tend the link, then sleep until `wake` (a tenth of a second at
        most, for results and a stop)."""
        self.link.tend()
        left = min(wake, self._last_send + SEND_NS) - time.perf_counter_ns()
        if left > 0:
            time.sleep(left / NS)

    def _send(self) -> None:
        self._last_send = time.perf_counter_ns()
        if self.res.count > self.res.sent:
            counts = self.link.counts() | {"queued": len(self.link.queue)}
            self.send(self.res.unsent(), counts)


def decisions_of(pipeline, txns, features, lookups) -> list:
    """Judged from the features where looked up, else from the rules (a duplicate: as such);
    the judged ones together."""
    looked = [i for i, look in enumerate(lookups) if look and features[i] is not None]
    judged = iter(judged_batch(pipeline, [txns[i] for i in looked], [features[i] for i in looked]))
    rules = pipeline.engine.decide_rules_only
    out = []
    for txn, f, look in zip(txns, features, lookups, strict=True):
        if f is None:
            out.append(DUPLICATE)
        elif look:
            out.append(next(judged) or DUPLICATE)
        else:
            out.append(rules(record_values(txn)))
    return out


def warm(pipeline, txns) -> None:
    """Judge some records once, from made-up features, before the clock starts: the first
    judging of a batch loads code that a record on the clock would otherwise wait for. The
    store is not touched."""
    from fraudcli.features.spec import FEATURE_NAMES

    txns = txns[:PER_CALL]
    zeros = [0.0] * len(FEATURE_NAMES)
    for size in (1, len(txns)):
        decisions_of(pipeline, txns[:size], [zeros] * size, [True] * size)
    decisions_of(pipeline, txns[:1], [[]], [False])
