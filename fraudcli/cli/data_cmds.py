"""`fraud simulate` and `fraud features`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fraudcli import render
from fraudcli.cli.app import ConfigOpt, MapOpt, RejectsOpt, StrictOpt, app, handled
from fraudcli.console import progress
from fraudcli.io import count_rows


@app.command()
@handled
def simulate(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="File to write (.parquet/.csv/.jsonl).")
    ],
    n: Annotated[int, typer.Option("-n", "--n", min=1, help="Number of transactions.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same data.")] = 7,
    start: Annotated[str, typer.Option(help="First day, ISO date.")] = "2026-01-01",
    days: Annotated[float, typer.Option(min=0.01, help="Length of the period in days.")] = 60.0,
    drift: Annotated[
        bool, typer.Option("--drift", help="Shift distributions (see README).")
    ] = False,
) -> None:
    """Generate labelled synthetic transactions with known fraud patterns.

    Example: fraud simulate -n 200000 --seed 7 -o train.parquet
    """
    from fraudcli.simulate import simulate_file

    options = dict(seed=seed, start=start, days=days, drift=drift)
    with progress(f"simulating {n:,} transactions", n) as advance:
        rows, frauds = simulate_file(output, n, on_rows=advance, **options)
    render.print_simulated(rows, frauds, output)


@app.command()
@handled
def features(
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
) -> None:
    """Compute the point-in-time feature table (ids, timestamp, features, label).

    Example: fraud features sample_data/train.parquet -o features.parquet
    """
    if list_:
        render.print_feature_list()
        return
    if data is None:
        raise typer.BadParameter("give a DATA file, or --list", param_hint="DATA")
    from fraudcli.featurize import features_file

    with progress("computing features", count_rows(data)) as advance:
        summary = features_file(
            data,
            output,
            config_path=config,
            mapping=map_,
            rejects_path=rejects,
            strict=strict,
            on_batch=advance,
        )
    render.print_summary(summary)
