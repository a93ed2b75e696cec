"""`fraud score DATASET --engine dask -o DIR`: backfill scoring on a Dask cluster
(`fraudcli.engines.dask.score`), continuing from the bundle's state, a `--state` directory's,
or none (`--fresh-state`), as the embedded `fraud score` does; with `--state PATH` the state at
the end is written back in the embedded format, committed right after the output directory.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from fraudcli.commands.engine import PartitionProgress, check_dask_input, engine_progress
from fraudcli.config.load import Config
from fraudcli.errors import UsageError
from fraudcli.files import check_distinct
from fraudcli.io.formats import ensure_readable
from fraudcli.records.accounting import RunSummary
from fraudcli.scoring.decided import early_start
from fraudcli.scoring.load import open_bundle
from fraudcli.state.keeper import END, StateKeeper, StateOptions


def score_dataset_file(
    data: Path | None,
    output: Path | None,
    *,
    config: Config,
    dask,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    state: StateOptions | None = None,
    with_features: bool = False,
    strict: bool = False,
    shadow_dir: Path | None = None,
    progress: PartitionProgress | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> RunSummary:
    """Score the Parquet dataset `data` with the bundle on the cluster `dask` (`DaskOptions`)
    into the dataset directory `output` (rejects into `rejects_path`, a directory too)."""
    from fraudcli.engines.dask.score import Deciding, score_dataset

    if shadow_dir is not None:
        raise UsageError(
            "--shadow is not supported with --engine dask: score on the embedded engine"
        )
    state = state or StateOptions()
    state.check()
    if state.redis is not None:
        raise UsageError(
            "--state redis://... is not supported with --engine dask (a backfill writes its "
            "state once, at its end): give a state directory, then `fraud state push` it"
        )
    if data is None:
        raise UsageError("--engine dask scores a Parquet file or dataset: give DATA")
    data = check_dask_input(ensure_readable(data))
    check_distinct([data], [("-o", output), ("--rejects", rejects_path), ("--state", state.path)])
    keeper = None
    if state.path is not None:
        keeper = StateKeeper(state.path, "score", state.checkpoint_every)
    with keeper or nullcontext():
        opened = open_bundle(config, model_dir, fresh_state=state.fresh, state_path=state.path)
        bundle = opened.bundle
        result = score_dataset(
            data, output, stored=None if opened.fresh_state else opened.state,
            store=opened.store_config,
            deciding=Deciding(bundle.model, bundle.thresholds, config, with_features),
            options=dask, rejects_dir=rejects_path, strict=strict,
            keep_state=keeper is not None, progress=engine_progress(progress),
        )  # fmt: skip
        summary = result.summary
        summary.engine = result.stats
        end = opened.state_end()
        if result.first is not None and result.first < end - opened.store_config.lateness:
            summary.warnings.append(early_start(result.first, end))
            if on_warning is not None:
                on_warning(summary.warnings[-1])
        if keeper is not None:  # after the output directory: as `fraud score -o FILE` does
            keeper.save(result.state, opened.store_config, summary.written, END)
    return summary
