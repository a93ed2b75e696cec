"""`fraud replay` from a file: read and validate everything first, load the pipeline, replay.

Reading, parsing and validation happen before the clock starts, so the latency figures cover
lookup -> model -> decision -> state update only, never JSON parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from fraudcli.config.load import Config
from fraudcli.files import check_distinct
from fraudcli.records.rejects import RejectSink
from fraudcli.replay.driver import replay
from fraudcli.replay.inputs import bundle_pipeline, load_records
from fraudcli.replay.loop import LiveStats
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.report import ReplayReport
from fraudcli.samples import SCORE, sample_path
from fraudcli.scoring.interrupts import held_signals
from fraudcli.state.keeper import END, STOPPED, StateKeeper, StateOptions


def replay_file(
    data: str | Path | None,
    options: ReplayOptions,
    *,
    config: Config,
    model_dir: str | Path | None = None,
    rejects_path: str | Path | None = None,
    fresh_state: bool = False,
    state: StateOptions | None = None,
    on_progress: Callable[[LiveStats], None] | None = None,
    workers: int | None = None,
) -> ReplayReport:
    """Replay `data` (default: the shipped sample, looped) through the bundle's pipeline, as
    `fraud score` builds it, paced by `options` (see `ReplayOptions.with_defaults`). With a
    `state` path the run continues from it and writes it back when it ends (interrupted
    too: Ctrl-C and SIGTERM wait for the batch being decided). `workers`: that many worker
    processes on a Redis state (`fraudcli.replay.workers`)."""
    state = state or StateOptions(fresh=fresh_state)
    if workers is not None and (workers > 1 or state.redis is not None):
        from fraudcli.replay.workers import live_stats, replay_workers

        ticks = live_stats(on_progress) if on_progress is not None else None
        return replay_workers(
            data, options, config=config, state=state, workers=workers, model_dir=model_dir,
            rejects_path=rejects_path, on_tick=ticks,
        ).report  # fmt: skip
    options = options.with_defaults(sample=data is None)
    options.check()
    state.check()
    data = sample_path(SCORE) if data is None else data
    check_distinct([data], [("--rejects", rejects_path), ("--state", state.path)])
    keeper = StateKeeper(state.path, "replay") if state.path is not None else None
    with keeper or nullcontext(), held_signals() if keeper else nullcontext():
        pipeline = bundle_pipeline(config, model_dir, state.fresh, state.path, state)
        store = pipeline.store
        with RejectSink(rejects_path) as sink:
            limit = None if options.loop else options.limit
            # this run's duplicates, found before the clock starts (a shared store: as it runs)
            ids = store.ids.fork() if store.ids is not None else None
            read, records = load_records(data, config.columns, sink, limit, ids)
        try:
            report = replay(
                records,
                pipeline,
                options,
                read=read,
                rejected=sink.count,
                reject_reasons=dict(sink.reasons),
                on_progress=on_progress,
            )
        except BaseException:
            if keeper is not None:  # SIGTERM: what was decided stays decided
                keeper.save(store.snapshot(), store.config, -1, STOPPED)
            raise
        if keeper is not None:
            reason = STOPPED if report.interrupted else END
            keeper.save(store.snapshot(), store.config, report.decided, reason)
    return report
