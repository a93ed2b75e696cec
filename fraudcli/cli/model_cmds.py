"""`fraud train`, `fraud score`, `fraud evaluate`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fraudcli import ranges
from fraudcli.cli import render
from fraudcli.cli.app import (
    EXIT_SIGPIPE,
    CheckpointOpt,
    ConfigOpt,
    CsvRawOpt,
    JsonOpt,
    MapOpt,
    ModelOpt,
    OverwriteStateOpt,
    ReadStateOpt,
    RejectsOpt,
    ReportOpt,
    StatePathOpt,
    StrictOpt,
    app,
    handled,
    stdout_gone,
)
from fraudcli.cli.audit_opts import (
    ExpectOpt,
    RedactOpt,
    SigningKeyOpt,
    begin,
    format_trained,
    print_audit,
)
from fraudcli.cli.console import err, progress, status
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
from fraudcli.errors import UsageError
from fraudcli.files import check_distinct
from fraudcli.io.formats import count_rows

DataArg = Annotated[Path | None, typer.Argument(help="Input file (.parquet/.csv/.jsonl).")]
ShadowOpt = Annotated[
    Path | None,
    typer.Option(
        "--shadow",
        metavar="DIR",
        help="A challenger bundle judged beside the model on the same records and features: "
        "its probability and decision are added to each output and the two are compared.",
    ),
]
FreshOpt = Annotated[bool, typer.Option("--fresh-state", help="Start from an empty feature store.")]


@app.command()
@handled
def train(
    ctx: typer.Context,
    data: DataArg = None,
    model: ModelOpt = None,
    C: Annotated[
        float | None,
        typer.Option(
            "--C",
            callback=finite(ranges.C),
            help=ranged("Inverse L2 strength [default: chosen on validation].", ranges.C),
        ),
    ] = None,
    no_refit: Annotated[
        bool,
        typer.Option("--no-refit", help="Serve the model fitted before the validation slice."),
    ] = False,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    signing_key: SigningKeyOpt = None,
    redact: RedactOpt = False,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="Labels from a file of their own (transaction_id, is_fraud, optional "
            "label_time), joined by transaction_id; a transaction without one is legitimate.",
        ),
    ] = None,
    engine: EngineOpt = "embedded",
    scheduler: SchedulerOpt = None,
    dask_workers: DaskWorkersOpt = None,
    memory_limit: MemoryLimitOpt = None,
) -> None:
    """Train the model on labelled data and write the bundle (default ./fraud-model).

    With no DATA it trains on the shipped sample (sample_data/train.parquet). The validation
    slice chooses C and the thresholds; then the model is refitted on every labelled row. With
    --labels the labels come from their own file (scored history plus chargebacks), each one
    seen by the merchant features from its label_time, as `fraud label` makes it.
    DATA may be a Parquet dataset (a directory or a glob); --engine dask fits on a cluster.

    Example: fraud train sample_data/train.parquet --model fraud-model
    """
    check_distinct([data], [("--report", report), ("--rejects", rejects)])
    from fraudcli.commands.engine import dask_options
    from fraudcli.commands.train import input_or_default, train_file

    dask = dask_options(engine, scheduler, dask_workers, memory_limit)
    source = input_or_default(data)
    cfg = load_config(config, map_)
    session = begin(ctx, cfg, signing_key=signing_key, redact=redact, loads_bundle=False)
    options = dict(
        config=cfg,
        model_dir=model,
        rejects_path=rejects,
        strict=strict,
        C=C,
        refit=not no_refit,
        labels_path=labels,
    )
    with session.active():
        if dask is None:
            with (
                progress("features", count_rows(source)) as advance,
                status("training") as stage,
            ):
                result = train_file(source, on_batch=advance, on_stage=stage, **options)
        else:
            from fraudcli.commands.train_dask import train_dataset_file

            with (
                partitions_bar("features (dask partitions)") as partitions,
                status("training") as stage,
            ):
                result = train_dataset_file(
                    source, dask=dask, progress=partitions, on_stage=stage, **options
                )
    render.print_train_report(result, model, cfg.policy)
    print_engine(result.summary)
    audit = session.finish(result.summary.to_dict(), session.written(model))
    render.emit(result.to_dict() | {"audit": audit.to_dict()}, json_, report)
    err.print(format_trained(audit.bundle, audit.config_hash), highlight=False)


@app.command()
@handled
def score(
    ctx: typer.Context,
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
    csv_raw: CsvRawOpt = False,
    signing_key: SigningKeyOpt = None,
    expect_bundle: ExpectOpt = None,
    redact: RedactOpt = False,
    shadow: ShadowOpt = None,
    state: StatePathOpt = None,
    overwrite_state: OverwriteStateOpt = False,
    checkpoint_every: CheckpointOpt = ranges.DEFAULT_CHECKPOINT_SECONDS,
    engine: EngineOpt = "embedded",
    scheduler: SchedulerOpt = None,
    dask_workers: DaskWorkersOpt = None,
    memory_limit: MemoryLimitOpt = None,
) -> None:
    """Decide ALLOW / REVIEW / BLOCK for every transaction of DATA or of JSONL on stdin.

    Output streams as input arrives: one decision per record, with its reasons. With --state
    the feature state carries over from run to run: with -o FILE it is written when the file
    is; a stream to stdout checkpoints it every --checkpoint-every seconds and when stopped.
    With --engine dask a Parquet dataset is scored on a cluster into the directory -o DIR.

    Example: fraud score monday.jsonl --state fraud-state -o monday-decisions.jsonl
    """
    check_distinct([data], [("--report", report), ("-o", output), ("--rejects", rejects)])
    from fraudcli.commands.score import score_file
    from fraudcli.state.keeper import StateOptions

    if data is None and sys.stdin.isatty():
        raise UsageError(
            "no input: give a DATA file or pipe JSONL in, e.g. fraud score < txns.jsonl"
        )
    from fraudcli.commands.engine import dask_options

    dask = dask_options(engine, scheduler, dask_workers, memory_limit)
    cfg = load_config(config, map_)
    session = begin(
        ctx, cfg, model=model, signing_key=signing_key, expect=expect_bundle, redact=redact
    )
    if dask is not None:
        from fraudcli.commands.score_dask import score_dataset_file

        with session.active(), partitions_bar("scoring (dask partitions)") as partitions:
            summary = score_dataset_file(
                data, output, config=cfg, dask=dask, model_dir=model, rejects_path=rejects,
                state=StateOptions(state, fresh_state, overwrite_state, checkpoint_every),
                with_features=with_features, strict=strict, shadow_dir=shadow,
                progress=partitions, on_warning=render.print_warning,
            )  # fmt: skip
    else:
        with session.active(), progress("scoring", count_rows(data)) as advance:
            summary = score_file(
                data,
                output,
                config=cfg,
                model_dir=model,
                rejects_path=rejects,
                state=StateOptions(state, fresh_state, overwrite_state, checkpoint_every),
                with_features=with_features,
                strict=strict,
                raw_csv=csv_raw,
                shadow_dir=shadow,
                on_batch=advance,
                on_warning=render.print_warning,
            )
    render.print_summary(summary, rejects)
    print_engine(summary)
    if summary.shadow is not None:
        render.print_comparison(summary.shadow)
    audit = session.finish(summary.to_dict())
    from fraudcli.commands.audit import write_sidecar

    print_audit(audit, write_sidecar(audit, output))
    render.emit(summary.to_dict() | {"audit": audit.to_dict()}, False, report)
    if summary.output_closed:
        stdout_gone()
        raise typer.Exit(EXIT_SIGPIPE)


@app.command()
@handled
def evaluate(
    ctx: typer.Context,
    data: DataArg = None,
    model: ModelOpt = None,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    fresh_state: FreshOpt = False,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    signing_key: SigningKeyOpt = None,
    expect_bundle: ExpectOpt = None,
    redact: RedactOpt = False,
    shadow: ShadowOpt = None,
    state: ReadStateOpt = None,
) -> None:
    """Score labelled data with the model and print AUC, precision, recall and more.

    With no DATA it evaluates on the shipped later sample (sample_data/txns.jsonl).

    Example: fraud evaluate sample_data/txns.jsonl --json
    """
    check_distinct([data], [("--report", report), ("--rejects", rejects)])
    from fraudcli.commands.evaluate import evaluate_file, input_or_default

    source = input_or_default(data)
    cfg = load_config(config, map_)
    session = begin(
        ctx, cfg, model=model, signing_key=signing_key, expect=expect_bundle, redact=redact
    )
    with session.active(), progress("evaluating", count_rows(source)) as advance:
        result = evaluate_file(
            source,
            config=cfg,
            model_dir=model,
            rejects_path=rejects,
            fresh_state=fresh_state,
            state_path=state,
            strict=strict,
            shadow_dir=shadow,
            on_batch=advance,
            on_warning=render.print_warning,
        )
    render.print_evaluation(result)
    audit = session.finish(result.summary.to_dict())
    print_audit(audit)
    render.emit(result.to_dict() | {"audit": audit.to_dict()}, json_, report)
