"""One replay worker's loop over a shared (Redis) store: its share of the run's records, each
due at its time on the run's one absolute schedule (the same start T0 in every worker).

Each pass decides every record of its share that is due: one round trip for the batch
(`Link.observe`: the store's script per record, each atomic), then judged together. A record
already later than `--deadline-ms` when its batch starts is answered from the rules (degraded)
and only its update is sent; when Redis is away the whole batch is (`fraudcli.replay.link`).
Between batches the worker sleeps until the next record is due (it shares the cores with Redis
and the other workers: no spinning), and sends what it has decided to the parent.

Per record it keeps: run index, due time (after T0), latency (ready - due), service time (the
batch's time shared out), degraded, and a decision code (`CODES`; FAILED for a record whose
earlier attempt was lost with a killed worker and that the store now says it holds).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from fraudcli.decision.engine import DECISIONS
from fraudcli.replay.link import Link
from fraudcli.replay.schedule import NS
from fraudcli.scoring.pipeline import DUPLICATE, record_values
from fraudcli.scoring.shared_items import judged_batch

CODES = {name: code for code, name in enumerate(DECISIONS)} | {DUPLICATE.decision: 3}
FAILED = -1
MAX_BATCH = 256  # records per pass at most (a backlog, --max)
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

    def run(self, t0: int) -> None:
        """Decide every record of the share, from T0 (perf_counter ns) on."""
        self.t0 = t0
        self._last_send = time.perf_counter_ns()
        n, dues, clock, i = len(self.res.runs), self.dues, time.perf_counter_ns, 0
        wake = t0 - self.batch_ns
        while i < n and not self.stopped:
            if dues is None:
                end = min(i + MAX_BATCH, n)
            else:
                end = min(int(np.searchsorted(dues, clock() - t0, side="right")), i + MAX_BATCH)
                if end <= i:
                    wake = max(t0 + int(dues[i]), wake + self.batch_ns)
                    self._idle(wake)
                    continue
            self._batch(i, end)
            i = end
            if clock() - self._last_send > SEND_NS:
                self._send()
                self.stopped = self.stopping()
        self.link.tend(now=True)  # a last chance for the updates still held
        if self.link.up:
            self.link.flush()
        self.link.finish()
        self._send()

    def _batch(self, i: int, end: int) -> None:
        """Records i..end: judged a few at a time as Redis answers (it runs the next few
        meanwhile); those it did not answer (away, or the queue still going out) from the
        rules, their updates deferred."""
        res, clock, t0 = self.res, time.perf_counter_ns, self.t0
        txns = [self.feed(int(k)) for k in res.runs[i:end]]
        start = clock()
        due = np.full(end - i, start - t0) if self.dues is None else self.dues[i:end]
        res.due[i:end] = due
        lookups = [True] * len(txns)
        if self.deadline_ns is not None:
            lookups = ((start - t0 - due) < self.deadline_ns).tolist()
        at = 0
        for features in self.link.observe(txns, lookups):
            part = slice(at, at + len(features))
            at = part.stop
            self._decided(i, part, decisions_of(self.pipeline, txns[part], features, lookups[part]))
        if at < len(txns):
            rest = txns[at:]
            self.link.defer(rest)
            rules = decisions_of(self.pipeline, rest, [[]] * len(rest), [False] * len(rest))
            self._decided(i, slice(at, len(txns)), rules)
        res.service[i:end] = (clock() - start) // len(txns)
        res.count = end

    def _decided(self, i: int, part: slice, decisions: list) -> None:
        """Records i + part, decided now."""
        res = self.res
        rows = slice(i + part.start, i + part.stop)
        res.latency[rows] = time.perf_counter_ns() - self.t0 - res.due[rows]
        res.degraded[rows] = [d.degraded for d in decisions]
        codes = [CODES[d.decision] for d in decisions]
        if self.retry is not None:
            codes = [
                FAILED if c == 3 and r else c for c, r in zip(codes, self.retry[rows], strict=True)
            ]
        res.code[rows] = codes

    def _idle(self, wake: int) -> None:
        """Send results when due, tend the link, check for a stop; then sleep until `wake`."""
        now = time.perf_counter_ns()
        if now - self._last_send > SEND_NS:
            self._send()
            self.stopped = self.stopping()
            if self.stopped:
                return
        self.link.tend()
        left = wake - time.perf_counter_ns()
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

    txns = txns[:MAX_BATCH]
    zeros = [0.0] * len(FEATURE_NAMES)
    for size in (1, len(txns)):
        decisions_of(pipeline, txns[:size], [zeros] * size, [True] * size)
    decisions_of(pipeline, txns[:1], [[]], [False])
