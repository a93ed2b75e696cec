"""Which engine a command runs on: the embedded one (this process, the default) or Dask
(`--engine dask`, `fraudcli.engines.dask`), with its options checked before anything runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fraudcli.errors import UsageError
from fraudcli.io.formats import Format, input_format

ENGINES = ("embedded", "dask")
MAX_DASK_WORKERS = 1024


@dataclass(frozen=True)
class PartitionProgress:
    """What a Dask run reports as it goes: `plan(partitions, dashboard link or None)` once,
    then `advance(1)` per partition done."""

    plan: Callable[[int, str | None], None] = lambda _n, _link: None
    advance: Callable[[int], None] = lambda _n: None


def dask_options(
    engine: str,
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: str | None = None,
):
    """`DaskOptions` for `--engine dask`, None for the embedded engine; UsageError for Dask
    options without it, LocalCluster options with `--scheduler`, or Dask not installed."""
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    options = {"--scheduler": scheduler, "--dask-workers": workers, "--memory-limit": memory_limit}
    given = [name for name, value in options.items() if value is not None]
    if engine == "embedded":
        if given:
            raise UsageError(f"{', '.join(given)} needs --engine dask")
        return None
    if scheduler is not None and (workers is not None or memory_limit is not None):
        raise UsageError(
            "--dask-workers and --memory-limit size the LocalCluster fraud starts; "
            "with --scheduler the cluster is yours (size its workers where you start them)"
        )
    if workers is not None and not 1 <= workers <= MAX_DASK_WORKERS:
        raise UsageError(f"--dask-workers must be from 1 to {MAX_DASK_WORKERS}, got {workers}")
    from fraudcli.engines.dask.cluster import DaskOptions, check_memory_limit, require_dask

    require_dask()
    check_memory_limit(memory_limit)
    return DaskOptions(scheduler=scheduler, workers=workers, memory_limit=memory_limit)


def check_dask_input(data: Path | None) -> Path:
    """The Dask engine reads Parquet: a file, a directory or a glob of files."""
    if data is None or str(data) == "-" or input_format(data) is not Format.PARQUET:
        raise UsageError(
            "--engine dask reads Parquet: give a .parquet file, a directory or a glob of them"
        )
    return data


def engine_progress(progress: PartitionProgress | None):
    """The engine's own progress object, from the command's callbacks."""
    from fraudcli.engines.dask import Progress

    progress = progress or PartitionProgress()
    return Progress(plan=progress.plan, advance=progress.advance)
