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
from fraudcli.io.read import read_batches
from fraudcli.records.accounting import accepted
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.rejects import RejectSink
from fraudcli.records.schema import ColumnMap, Txn
from fraudcli.replay.driver import replay
from fraudcli.replay.loop import LiveStats
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.report import ReplayReport
from fraudcli.samples import SCORE, sample_path
from fraudcli.scoring.interrupts import held_signals
from fraudcli.scoring.load import open_bundle
from fraudcli.state.keeper import END, STOPPED, StateKeeper, StateOptions


def load_records(
    path: str | Path | None,
    columns: ColumnMap,
    rejects: RejectSink,
    limit: int | None = None,
    ids: IdRegistry | None = None,
) -> tuple[int, list[Txn]]:
    """(records read, valid transactions) of `path`; rejects go to `rejects`, and duplicates
    by the rule of `ids` (a fork of the store's registry: the run will admit them in this
    order). Reading stops once `limit` valid records are in hand."""
    read, records = 0, []
    for n_read, txns in accepted(read_batches(path, columns), rejects, ids=ids):
        read += n_read
        records.extend(txns)
        if limit is not None and len(records) >= limit:
            break
    return read, records


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
) -> ReplayReport:
    """Replay `data` (default: the shipped sample, looped) through the bundle's pipeline, as
    `fraud score` builds it, paced by `options` (see `ReplayOptions.with_defaults`). With a
    `state` path the run continues from it and writes it back when it ends (interrupted
    too: Ctrl-C and SIGTERM wait for the batch being decided)."""
    options = options.with_defaults(sample=data is None)
    options.check()
    state = state or StateOptions(fresh=fresh_state)
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


def bundle_pipeline(
    config: Config,
    model_dir: str | Path | None,
    fresh_state: bool,
    state_path: str | Path | None = None,
    state: StateOptions | None = None,
):
    """The record path of the bundle at `model_dir`, as `fraud score` builds it, continuing
    from the state at `state_path` when there is one (or the Redis state of `state`)."""
    redis = state.redis if state is not None else None
    overwrite = state.overwrite if state is not None else False
    opened = open_bundle(
        config, model_dir, fresh_state=fresh_state, state_path=state_path,
        redis=redis, overwrite_state=overwrite, command="replay",
    )  # fmt: skip
    # Arrow imports pandas the first time it builds an array from Python objects, as the id
    # registry does every 2,048 records: a third of a second, paid now, not on the clock; and
    # so are the stored keys and the registry's filter, which a store makes on first use
    import pandas  # noqa: F401

    pipeline = opened.pipeline
    pipeline.store.warm()
    return pipeline
