"""`replay()`: validated records through the real pipeline as `ReplayOptions` say, and the report.

It checks the options, makes the schedule, puts a `SlowStore` in front of the store when a fault
or a deadline is asked for, runs the loop of `fraudcli.replay.loop` and builds the report from
what the loop recorded. The garbage collector is frozen and disabled for the run (`quiet_gc`;
the loop collects the youngest generation in idle slack). Everything is unfrozen and collected
normally when the run ends.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from fraudcli.errors import UsageError
from fraudcli.records.schema import Txn
from fraudcli.replay.faults import SlowStore
from fraudcli.replay.feed import Feed
from fraudcli.replay.loop import UNBOUNDED, LiveStats, ReplayLoop
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.report import ReplayReport, RunFacts, build_report
from fraudcli.replay.schedule import NS, FixedRate, Recorded, Schedule, loop_shift


def make_schedule(records: Sequence[Txn], options: ReplayOptions) -> Schedule | None:
    if options.max_rate:
        return None
    if options.speed is not None:
        ts = [t.ts for t in records]
        return Recorded(ts, options.speed, loop_shift(ts))
    return FixedRate(options.tps)


def planned_count(n: int, schedule: Schedule | None, options: ReplayOptions) -> int:
    """Records the run will decide: bounded by --limit, the data (unless --loop), and the
    records due before --duration ends (unknown in advance for --max)."""
    total = min(options.limit or UNBOUNDED, UNBOUNDED if options.loop else n)
    if schedule is not None and options.duration is not None:
        total = min(total, schedule.count_due(int(options.duration * NS) - 1))
    return total


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Freeze what exists (the model, the state, the records) and stop automatic collection."""
    enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def replay(
    records: Sequence[Txn],
    pipeline,
    options: ReplayOptions,
    *,
    read: int | None = None,
    rejected: int = 0,
    reject_reasons: dict[str, int] | None = None,
    on_progress: Callable[[LiveStats], None] | None = None,
) -> ReplayReport:
    """Replay validated `records` through `pipeline` as `options` say; return the report.

    `pipeline` needs `store`, `decide(txn) -> (features, decision)` and
    `decide_degraded(txn) -> decision` (fraudcli.pipeline.Pipeline). Ctrl-C ends the run
    early; the report then covers the records decided so far (`interrupted` is True).
    With a deadline, a slow lookup gives up at the record's deadline, and a record reached
    after it is answered at once from the rules (one thread: that is the best it can do).
    """
    options.check()
    if not records:
        raise UsageError("no valid records to replay")
    schedule = make_schedule(records, options)
    feed = Feed(records, loop_shift([t.ts for t in records]))
    store = None
    if options.fault is not None or options.deadline_ms is not None:
        store = SlowStore(pipeline.store, options.fault, options.seed)
        pipeline = dataclasses.replace(pipeline, store=store)
    run = ReplayLoop(feed, pipeline, schedule, planned_count(len(records), schedule, options))
    run.configure(options, store, on_progress)
    with quiet_gc():
        run.run()
    read = len(records) + rejected if read is None else read
    facts = RunFacts.of_run(
        options, rejected, reject_reasons or {},
        read=read,
        decisions=run.counts,
        loops=feed.loops(run.rec.count),
        interrupted=run.interrupted,
        faults=_fault_facts(options, store),
        schedule_end_ns=run.schedule.due(run.rec.count) if run.schedule else None,
    )  # fmt: skip
    return build_report(run.rec, facts)


def _fault_facts(options: ReplayOptions, store: SlowStore | None) -> dict:
    fault = options.fault
    return {
        "inject_delay_ms": fault.delay_ms if fault else None,
        "inject_fraction": fault.fraction if fault else None,
        "deadline_ms": options.deadline_ms,
        "seed": options.seed,
        "injected": store.injected if store else 0,
        "timeouts": store.timeouts if store else 0,
    }
