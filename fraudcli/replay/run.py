"""`fraud replay` from a file: read and validate everything first, load the pipeline, replay.

Reading, parsing and validation happen before the clock starts, so the latency figures cover
lookup -> model -> decision -> state update only, never JSON parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fraudcli.config.load import Config
from fraudcli.files import check_distinct
from fraudcli.io.read import read_batches
from fraudcli.records.accounting import accepted
from fraudcli.records.rejects import RejectSink
from fraudcli.records.schema import ColumnMap, Txn
from fraudcli.replay.driver import replay
from fraudcli.replay.loop import LiveStats
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.report import ReplayReport
from fraudcli.samples import SCORE, sample_path
from fraudcli.scoring.load import open_bundle


def load_records(
    path: str | Path | None, columns: ColumnMap, rejects: RejectSink, limit: int | None = None
) -> tuple[int, list[Txn]]:
    """(records read, valid transactions) of `path`; rejects (and duplicates) go to `rejects`.
    Reading stops once `limit` valid records are in hand."""
    read, records = 0, []
    for n_read, txns in accepted(read_batches(path, columns), rejects):
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
    on_progress: Callable[[LiveStats], None] | None = None,
) -> ReplayReport:
    """Replay `data` (default: the shipped sample, looped) through the bundle's pipeline, as
    `fraud score` builds it, paced by `options` (see `ReplayOptions.with_defaults`)."""
    options = options.with_defaults(sample=data is None)
    options.check()
    data = sample_path(SCORE) if data is None else data
    check_distinct([data], [("--rejects", rejects_path)])
    pipeline = bundle_pipeline(config, model_dir, fresh_state)
    with RejectSink(rejects_path) as sink:
        limit = None if options.loop else options.limit
        read, records = load_records(data, config.columns, sink, limit)
    return replay(
        records,
        pipeline,
        options,
        read=read,
        rejected=sink.count,
        reject_reasons=dict(sink.reasons),
        on_progress=on_progress,
    )


def bundle_pipeline(config: Config, model_dir: str | Path | None, fresh_state: bool):
    """The record path of the bundle at `model_dir`, as `fraud score` builds it."""
    return open_bundle(config, model_dir, fresh_state=fresh_state).pipeline
