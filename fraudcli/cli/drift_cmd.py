"""`fraud drift-report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
from fraudcli.cli.console import err, progress
from fraudcli.cli.render import emit, print_warning
from fraudcli.config import load_config
from fraudcli.errors import DriftDetected, UsageError
from fraudcli.io.formats import count_rows


@app.command("drift-report")
@handled
def drift_report(
    current: Annotated[
        Path | None, typer.Option("--current", help="Data to check [default: the drifted sample].")
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option("--reference", help="Compare with this data instead of the bundle's profile."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Also PSI per period: hour, day or week.")
    ] = None,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 6 when the dataset verdict is drift.")
    ] = False,
    psi_warn: Annotated[float, typer.Option(help="PSI at which a feature warns.")] = 0.10,
    psi_drift: Annotated[float, typer.Option(help="PSI at which a feature drifts.")] = 0.25,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    legacy_json: Annotated[
        Path | None, typer.Argument(hidden=True, help="Old spelling: --json FILE.")
    ] = None,
) -> None:
    """What changed since training, in the features the model sees and in its output.

    The current data goes through the same pipeline as `fraud score` (continuing from the
    bundle's state). Verdicts come from effect sizes (PSI, Jensen-Shannon distance, missing-rate
    change); KS / chi-squared p-values, Benjamini-Hochberg adjusted, are supporting evidence.

    Example: fraud drift-report --current sample_data/drift.parquet --by day --report drift.json
    """
    from fraudcli.cli.render_drift import print_drift
    from fraudcli.commands.drift_report import drift_report as run
    from fraudcli.commands.drift_report import input_or_default

    if legacy_json is not None:
        if not json_:
            raise UsageError(f"unexpected argument {legacy_json}: give data with --current")
        err.print(
            "[yellow]--json FILE is deprecated: use --report FILE "
            "(--json alone prints the report on stdout)[/]"
        )
    from fraudcli.drift import DriftThresholds

    source = input_or_default(current)
    thresholds = DriftThresholds(psi_warn=psi_warn, psi_drift=psi_drift)
    cfg = load_config(config, map_)
    with progress("comparing", count_rows(source)) as advance:
        result = run(
            source,
            config=cfg,
            model_dir=model,
            reference=reference,
            by=by,
            thresholds=thresholds,
            rejects_path=rejects,
            strict=strict,
            on_batch=advance,
            on_warning=print_warning,
        )
    print_drift(result)
    emit(result.to_dict(), json_ and legacy_json is None, report or legacy_json)
    if fail_on_drift and result.verdict.level == "drift":
        raise DriftDetected("the dataset verdict is drift (--fail-on-drift)")
