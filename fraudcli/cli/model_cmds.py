"""`fraud train`, `fraud score`, `fraud evaluate`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fraudcli.cli import render
from fraudcli.cli.app import (
    ConfigOpt,
    JsonOpt,
    MapOpt,
    ModelOpt,
    RejectsOpt,
    ReportOpt,
    StrictOpt,
    app,
    handled,
)
from fraudcli.cli.console import progress, status
from fraudcli.config import load_config
from fraudcli.errors import UsageError
from fraudcli.io.formats import count_rows

DataArg = Annotated[Path | None, typer.Argument(help="Input file (.parquet/.csv/.jsonl).")]
FreshOpt = Annotated[bool, typer.Option("--fresh-state", help="Start from an empty feature store.")]


@app.command()
@handled
def train(
    data: DataArg = None,
    model: ModelOpt = None,
    C: Annotated[float, typer.Option("--C", min=1e-6, help="Inverse L2 strength.")] = 1.0,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    json_: JsonOpt = False,
    report: ReportOpt = None,
) -> None:
    """Train the model on labelled data and write the bundle (default ./fraud-model).

    With no DATA it trains on the shipped sample (sample_data/train.parquet).

    Example: fraud train sample_data/train.parquet --model fraud-model
    """
    from fraudcli.commands.train import input_or_default, train_file

    source = input_or_default(data)
    cfg = load_config(config, map_)
    with progress("features", count_rows(source)) as advance, status("training") as stage:
        result = train_file(
            source,
            config=cfg,
            model_dir=model,
            rejects_path=rejects,
            strict=strict,
            C=C,
            on_batch=advance,
            on_stage=stage,
        )
    render.print_train_report(result, model)
    render.emit(result.to_dict(), json_, report)


@app.command()
@handled
def score(
    data: DataArg = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Output file [default: JSONL on stdout].")
    ] = None,
    model: ModelOpt = None,
    fresh_state: FreshOpt = False,
    with_features: Annotated[
        bool, typer.Option("--with-features", help="Add every feature to each output record.")
    ] = False,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    report: ReportOpt = None,
) -> None:
    """Decide ALLOW / REVIEW / BLOCK for every transaction of DATA or of JSONL on stdin.

    Output streams as input arrives: one decision per record, with its reasons.

    Example: fraud score < sample_data/txns.jsonl > decisions.jsonl
    """
    from fraudcli.commands.score import score_file

    if data is None and sys.stdin.isatty():
        raise UsageError(
            "no input: give a DATA file or pipe JSONL in, e.g. fraud score < txns.jsonl"
        )
    cfg = load_config(config, map_)
    with progress("scoring", count_rows(data)) as advance:
        summary = score_file(
            data,
            output,
            config=cfg,
            model_dir=model,
            rejects_path=rejects,
            fresh_state=fresh_state,
            with_features=with_features,
            strict=strict,
            on_batch=advance,
            on_warning=render.print_warning,
        )
    render.print_summary(summary)
    render.emit(summary.to_dict(), False, report)


@app.command()
@handled
def evaluate(
    data: DataArg = None,
    model: ModelOpt = None,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    fresh_state: FreshOpt = False,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
) -> None:
    """Score labelled data with the model and print AUC, precision, recall and more.

    With no DATA it evaluates on the shipped later sample (sample_data/txns.jsonl).

    Example: fraud evaluate sample_data/txns.jsonl --json
    """
    from fraudcli.commands.evaluate import evaluate_file, input_or_default

    source = input_or_default(data)
    cfg = load_config(config, map_)
    with progress("evaluating", count_rows(source)) as advance:
        result = evaluate_file(
            source,
            config=cfg,
            model_dir=model,
            rejects_path=rejects,
            fresh_state=fresh_state,
            strict=strict,
            on_batch=advance,
            on_warning=render.print_warning,
        )
    render.print_evaluation(result)
    render.emit(result.to_dict(), json_, report)
