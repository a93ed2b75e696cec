"""`--engine` and the Dask engine's options (features, train, score), its progress bar of
partitions, and the line that says how the shuffles went."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from fraudcli.cli.console import err, progress_later, safe
from fraudcli.commands.engine import PartitionProgress

EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        metavar="embedded|dask",
        help="embedded: this process. dask: a Dask cluster (Parquet file, directory or glob; "
        "-o and --rejects are dataset directories); needs the dask extra.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="A running Dask scheduler (tcp://host:8786) [default: a LocalCluster here].",
    ),
]
DaskWorkersOpt = Annotated[
    int | None,
    typer.Option("--dask-workers", help="LocalCluster worker processes [default: the cores]."),
]
MemoryLimitOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        metavar="SIZE",
        help="Memory of each LocalCluster worker, e.g. 3GB [default: the machine's, shared].",
    ),
]


@contextmanager
def partitions_bar(description: str) -> Iterator[PartitionProgress]:
    """A progress bar of partitions done (its total set when the run is planned); the Dask
    dashboard's address is printed when there is one."""
    with progress_later(description) as (advance, set_total):

        def plan(total: int, link: str | None) -> None:
            if link:
                err.print(f"dask dashboard: {safe(link)}", highlight=False)
            set_total(total)

        yield PartitionProgress(plan=plan, advance=advance)


def format_engine(stats) -> str:
    """One line: partitions, workers, and the largest partition of each shuffle."""
    user, merchant = stats.largest_user, stats.largest_merchant
    return (
        f"dask: {stats.partitions:,} partitions on {stats.workers:,} workers; largest partition "
        f"by user {stats.user_rows:,} rows (largest user {user[1]:,}), by merchant "
        f"{stats.merchant_rows:,} rows (largest merchant {safe(merchant[0])}: {merchant[1]:,})"
    )


def print_engine(summary) -> None:
    if summary.engine is not None:
        err.print(format_engine(summary.engine), highlight=False)
