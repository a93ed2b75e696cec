"""A replay worker process (`fraud replay --workers N`): started by `fraudcli.replay.pool`.

It opens the bundle's pipeline on the shared Redis state (never starting it: the parent did),
reads and validates the data itself (the parent sends no records, only run indices), says it
is ready, and waits for its plan: T0 on the monotonic clock that every process shares, the
run indices it decides, and which of them a killed worker held. Then it runs
`fraudcli.replay.shared_loop.SharedLoop`, sending what it decided every 0.1 s, and its link's
counts at the end. Messages are plain tuples, numbers and NumPy arrays over its pipe.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

from fraudcli.bundle.signing import Trust, trusting
from fraudcli.config.load import Config
from fraudcli.features.redis_url import RedisURL, connect
from fraudcli.records.rejects import RejectSink
from fraudcli.replay.driver import make_schedule, quiet_gc
from fraudcli.replay.feed import Feed
from fraudcli.replay.inputs import bundle_pipeline, load_records
from fraudcli.replay.link import QUEUE_LIMIT, Link
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.schedule import loop_shift
from fraudcli.replay.shared_loop import SharedLoop, warm
from fraudcli.state.keeper import StateOptions

NO_DEADLINE_TIMEOUT_S = 1.0  # a Redis call's time-out without --deadline-ms
PROBE_TIMEOUT_S = 0.05  # at most, for a probe of a Redis that was away


@dataclass(frozen=True)
class WorkerPlan:
    """What a worker needs to build its run (the same in every worker but `number`)."""

    number: int
    data: str
    options: ReplayOptions
    config: Config
    model_dir: str | None
    url: RedisURL
    trust: Trust
    queue_limit: int = QUEUE_LIMIT

    @property
    def timeout_s(self) -> float:
        """A Redis call's time-out: half the deadline (the other half for the wait)."""
        deadline = self.options.deadline_ms
        return NO_DEADLINE_TIMEOUT_S if deadline is None else max(deadline / 2000, 0.001)


def worker_main(plan: WorkerPlan, conn) -> None:
    """The process's entry point: Ctrl-C is the parent's to handle (it says stop)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with trusting(plan.trust):
            _work(plan, conn)
    except Exception as exc:  # said to the parent, which counts it; no traceback
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            conn.close()
        finally:
            os._exit(1)


def _work(plan: WorkerPlan, conn) -> None:
    options = plan.options
    pipeline = bundle_pipeline(plan.config, plan.model_dir, False, None, StateOptions(plan.url))
    store = pipeline.store
    checking, store.client = store.client, connect(plan.url, plan.timeout_s)
    checking.close()
    limit = None if options.loop else options.limit
    _, records = load_records(plan.data, plan.config.columns, RejectSink(None), limit)
    feed = Feed(records, loop_shift([t.ts for t in records]))
    schedule = make_schedule(records, options)
    warm(pipeline, records)
    with quiet_gc():  # collected and frozen before T0, not on the clock
        _run(plan, conn, pipeline, feed, schedule)
    conn.close()


def _run(plan: WorkerPlan, conn, pipeline, feed, schedule) -> None:
    options, store = plan.options, pipeline.store
    conn.send(("ready", os.getpid()))
    _, t0_monotonic, runs, retry = conn.recv()
    probe_timeout = min(plan.timeout_s, PROBE_TIMEOUT_S)
    link = Link(store, lambda: connect(plan.url, probe_timeout).close(), plan.queue_limit)
    dues = None if schedule is None else schedule.dues(runs)
    loop = SharedLoop(feed, runs, dues, pipeline, link, retry)
    if options.deadline_ms is not None:
        loop.deadline_ns = int(options.deadline_ms * 1e6)
    loop.batch_ns = int(options.batch_ms * 1e6)
    loop.send = lambda part, counts: conn.send(("part", part, counts))
    loop.stopping = conn.poll  # the parent's only message now is "stop"
    cpu = time.process_time()
    loop.run(t0_monotonic - time.monotonic_ns() + time.perf_counter_ns())
    conn.send(("done", link.counts() | {"cpu_us": int((time.process_time() - cpu) * 1e6)}))
