"""`fraud simulate` and `fraud features`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from fraudcli.cli import render
from fraudcli.cli.app import (
    ConfigOpt,
    CsvRawOpt,
    MapOpt,
    RejectsOpt,
    ReportOpt,
    StrictOpt,
    app,
    handled,
)
from fraudcli.cli.audit_opts import RedactOpt, begin, print_audit
from fraudcli.cli.console import progress
from fraudcli.cli.engine_opts import (
    DaskWorkersOpt,
    EngineOpt,
    MemoryLimitOpt,
    SchedulerOpt,
    partitions_bar,
    print_engine,
)
from fraudcli.cli.options import finite, ranged
from fraudcli.config.load import load_config
from fraudcli.files import check_distinct
from fraudcli.io.formats import count_rows
from fraudcli.ranges import MAX_SIMULATE_ROWS, SIMULATE_DAYS


def _start(value: str) -> str:
    """--start: a real ISO date in the years a record may have, checked before anything runs."""
    from fraudcli.simulation.simulate import start_seconds

    try:
        start_seconds(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


@app.command()
@handled
def simulate(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write (.parquet/.csv/.jsonl).")
    ],
    n: Annotated[
        int,
        typer.Option("-n", "--n", min=1, max=MAX_SIMULATE_ROWS, help="Number of transactions."),
    ] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 7,
    start: Annotated[
        str, typer.Option(callback=_start, help="First day, ISO date (2000-2099).")
    ] = "2026-01-01",
    days: Annotated[
        float,
        typer.Option(
            callback=finite(SIMULATE_DAYS),
            help=ranged("Length of the period in days, ending by 2100.", SIMULATE_DAYS),
        ),
    ] = 60.0,
    drift: Annotated[
        bool, typer.Option("--drift", help="Shift distributions (see README).")
    ] = False,
) -> None:
    """Generate labelled synthetic transactions with known fraud patterns.

    Example: fraud simulate -n 200000 --seed 7 -o train.parquet
    """
    from fraudcli.commands.simulate import simulate_file
    from fraudcli.simulation.simulate import check_period, start_seconds

    try:
        check_period(start_seconds(start), days)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--days'") from None

    options = dict(seed=seed, start=start, days=days, drift=drift)
    with progress(f"simulating {n:,} transactions", n) as advance:
        result = simulate_file(output, n, on_rows=advance, **options)
    render.print_simulated(result)


@app.command()
@handled
def features(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Argument(help="Input file (.parquet/.csv/.jsonl).")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output file [stdout JSONL].")
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the features and their meanings.")
    ] = False,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    csv_raw: CsvRawOpt = False,
    report: ReportOpt = None,
    redact: RedactOpt = False,
    engine: EngineOpt = "embedded",
    scheduler: SchedulerOpt = None,
    dask_workers: DaskWorkersOpt = None,
    memory_limit: MemoryLimitOpt = None,
) -> None:
    """Compute the point-in-time feature table (ids, timestamp, features, label).

    DATA may be a Parquet dataset (a directory or a glob of files, read in sorted path order).
    With --engine dask it runs on a Dask cluster and -o is a dataset directory.

    Example: fraud features sample_data/train.parquet -o features.parquet
    """
    check_distinct([data], [("--report", report), ("-o", output), ("--rejects", rejects)])
    if list_:
        render.print_feature_list()
        return
    if data is None:
        raise typer.BadParameter("give a DATA file, or --list", param_hint="DATA")
    from fraudcli.commands.engine import dask_options
    from fraudcli.commands.features import features_file

    dask = dask_options(engine, scheduler, dask_workers, memory_limit)
    session = begin(ctx, load_config(config, map_), redact=redact, loads_bundle=False)
    with session.active(), _progress(dask, data) as (advance, partitions):
        summary = features_file(
            data,
            output,
            config_path=config,
            mapping=map_,
            rejects_path=rejects,
            strict=strict,
            raw_csv=csv_raw,
            on_batch=advance,
            dask=dask,
            progress=partitions,
        )
    render.print_summary(summary, rejects)
    print_engine(summary)
    audit = session.finish(summary.to_dict())
    from fraudcli.commands.audit import write_sidecar

    print_audit(audit, write_sidecar(audit, output))
    render.emit(summary.to_dict() | {"audit": audit.to_dict()}, False, report)


@contextmanager
def _progress(dask, data: Path) -> Iterator[tuple]:
    """Rows read (embedded), or partitions done (Dask)."""
    if dask is None:
        with progress("computing features", count_rows(data)) as advance:
            yield advance, None
    else:
        with partitions_bar("computing features (dask partitions)") as partitions:
            yield None, partitions
