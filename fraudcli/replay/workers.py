"""`fraud replay --workers N --state redis://...`: N worker processes share one Redis state.

The parent starts the state (once, from the bundle's, as a single run would), reads and
validates the data (the rejects are counted here), splits the run's records by a stable hash
of `user_id` (`fraudcli.replay.partition`: a user's records stay in order, in one worker), and
runs the pool (`fraudcli.replay.pool`). Each worker paces its share on the run's one absolute
schedule: record k is due at T0 + due(k) whichever worker decides it, so N workers together
offer the rate one would. The report is `fraudcli.replay.merged`'s.

    run = replay_workers(None, ReplayOptions(tps=2000, limit=4000), config=load_config(),
                         state=StateOptions("redis://localhost:6399/0"), workers=2)
    run.report.availability["availability"], run.decisions[:5]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraudcli.bundle.signing import active_trust
from fraudcli.config.load import Config
from fraudcli.errors import UsageError
from fraudcli.files import check_distinct
from fraudcli.records.rejects import RejectSink
from fraudcli.replay.driver import make_schedule, planned_count
from fraudcli.replay.feed import Feed
from fraudcli.replay.inputs import bundle_pipeline, load_records
from fraudcli.replay.link import QUEUE_LIMIT
from fraudcli.replay.loop import UNBOUNDED, LiveStats
from fraudcli.replay.merged import Merged, merged_report
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.partition import worker_shares
from fraudcli.replay.pool import Pool, Tick
from fraudcli.replay.report import ReplayReport, RunFacts
from fraudcli.replay.schedule import loop_shift
from fraudcli.replay.shared_loop import FAILED
from fraudcli.replay.worker import WorkerPlan
from fraudcli.samples import SCORE, sample_path
from fraudcli.state.keeper import StateOptions

MAX_WORKERS = 64


@dataclass(frozen=True)
class WorkersRun:
    """The merged report, and each record's decision code by run index (for checks)."""

    report: ReplayReport
    decisions: np.ndarray  # int8, `fraudcli.replay.shared_loop.CODES`, FAILED: none
    feed: Feed  # feed(k): record k of the run

    def decision_of(self) -> dict[str, int]:
        """transaction_id -> decision code, for every record of the run."""
        return {self.feed(k).transaction_id: int(c) for k, c in enumerate(self.decisions)}


def check_workers(
    workers: int | None, state: StateOptions, options: ReplayOptions | None = None
) -> None:
    """UsageError for --workers without a shared state, out of range, or with an injected
    fault (the workers' faults are Redis's own)."""
    if workers is None or workers == 1 and state.redis is None:
        return
    if options is not None and options.fault is not None:
        raise UsageError("--inject-latency does not go with --workers (use --deadline-ms)")
    if not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be between 1 and {MAX_WORKERS}")
    if state.redis is None:
        raise UsageError(
            "--workers needs a state that processes share: --state redis://HOST:PORT/DB "
            "(a directory state is one process's)"
        )


def replay_workers(
    data: str | Path | None,
    options: ReplayOptions,
    *,
    config: Config,
    state: StateOptions,
    workers: int,
    model_dir: str | Path | None = None,
    rejects_path: str | Path | None = None,
    on_tick: Callable[[Tick], None] | None = None,
    queue_limit: int = QUEUE_LIMIT,
) -> WorkersRun:
    """Replay `data` (default: the shipped sample, looped) with `workers` processes on the
    Redis state of `state`; see the module's docstring."""
    check_workers(workers, state, options)
    options = options.with_defaults(sample=data is None)
    options.check()
    state.check()
    data = sample_path(SCORE) if data is None else data
    check_distinct([data], [("--rejects", rejects_path)])
    # the state started (or checked) here, once, before any worker opens it
    bundle_pipeline(config, model_dir, state.fresh, None, state).store.client.close()
    with RejectSink(rejects_path) as sink:
        read, records = load_records(data, config.columns, sink, _limit(options))
    if not records:
        raise UsageError("no valid records to replay")
    schedule = make_schedule(records, options)
    total = planned_count(len(records), schedule, options)
    if total >= UNBOUNDED:
        raise UsageError("--workers with --max needs --limit, or --duration without --loop")
    plans = _plans(workers, data, options, config, model_dir, state, queue_limit)
    pool = Pool(plans, worker_shares([t.user_id for t in records], total, workers), schedule)
    pool.run(on_tick)
    merged = Merged([part for slot in pool.slots for part in slot.parts])
    reached = int(merged.runs.max()) + 1 if pool.interrupted and len(merged.runs) else total
    facts = RunFacts.of_run(
        options, sink.count, sink.reasons,
        read=read,
        decisions={},
        loops=-(-reached // len(records)),
        interrupted=pool.interrupted,
        faults={"deadline_ms": options.deadline_ms, "workers": len(pool.slots)},
        schedule_end_ns=schedule.due(reached) if schedule is not None else None,
    )  # fmt: skip
    rows = [_worker_row(w, slot, pool.interrupted) for w, slot in enumerate(pool.slots)]
    lost = sum(slot.counts.get("lost_updates", 0) for slot in pool.slots)
    # Ctrl-C: the run's records are those the workers reached (the rest were never due)
    held = len(merged.runs) if pool.interrupted else total
    report = merged_report(merged, held, facts, rows, lost)
    feed = Feed(records, loop_shift([t.ts for t in records]))
    return WorkersRun(report, merged.decisions_by_run(total), feed)


def _limit(options: ReplayOptions) -> int | None:
    return None if options.loop else options.limit


def _plans(workers, data, options, config, model_dir, state, queue_limit) -> list[WorkerPlan]:
    model = None if model_dir is None else str(model_dir)
    return [
        WorkerPlan(w, str(data), options, config, model, state.redis, active_trust(), queue_limit)
        for w in range(workers)
    ]


def _worker_row(number: int, slot, interrupted: bool) -> dict:
    reported = sum(len(part["runs"]) for part in slot.parts)
    answered = sum(int((part["code"] != FAILED).sum()) for part in slot.parts)
    degraded = sum(int(part["degraded"].sum()) for part in slot.parts)
    records = reported if interrupted else len(slot.runs)
    counts = slot.counts
    return {
        "worker": number,
        "records": records,
        "answered": answered,
        "degraded": degraded,
        "failed": records - answered,
        "restarts": slot.restarts,
        "errors": len(slot.errors) + counts.get("store_failures", 0),
        "reconnects": counts.get("reconnects", 0),
        "retried_updates": counts.get("retried_updates", 0),
        "lost_updates": counts.get("lost_updates", 0),
        "round_trips": counts.get("round_trips", 0),
        "cpu_s": counts.get("cpu_us", 0) / 1e6,  # the worker's own, on the clock
        "messages": slot.errors[-3:],
    }


def live_stats(on_progress: Callable[[LiveStats], None]) -> Callable[[Tick], None]:
    """Ticks turned into the live view's figures, twice a second."""
    last = [0.0, 0]

    def on_tick(tick: Tick) -> None:
        if tick.elapsed_s - last[0] < 0.5:
            return
        rate = (tick.decided - last[1]) / (tick.elapsed_s - last[0])
        last[:] = [tick.elapsed_s, tick.decided]
        on_progress(LiveStats(tick.elapsed_s, tick.decided, None, rate, tick.p99_ms, tick.degraded))

    return on_tick
