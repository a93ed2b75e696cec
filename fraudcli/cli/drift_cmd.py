"""`fraud drift-report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from fraudcli.cli.app import (
    ConfigOpt,
    JsonOpt,
    MapOpt,
    ModelOpt,
    ReadStateOpt,
    RejectsOpt,
    ReportOpt,
    StrictOpt,
    app,
    handled,
)
from fraudcli.cli.audit_opts import ExpectOpt, RedactOpt, SigningKeyOpt, begin, print_audit
from fraudcli.cli.console import err, progress
from fraudcli.cli.options import finite, ranged
from fraudcli.cli.render import emit, print_warning
from fraudcli.config.load import load_config
from fraudcli.errors import DriftDetected, UsageError
from fraudcli.files import check_distinct
from fraudcli.io.formats import count_rows
from fraudcli.ranges import PSI


class _HiddenOutOfUsage(TyperCommand):
    """A command whose usage line leaves out its hidden arguments (Click lists them)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not getattr(param, "hidden", False):
                pieces += param.get_usage_pieces(ctx)
        return pieces


@app.command("drift-report", cls=_HiddenOutOfUsage)
@handled
def drift_report(
    ctx: typer.Context,
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
    psi_warn: Annotated[
        float,
        typer.Option(callback=finite(PSI), help=ranged("PSI at which a feature warns.", PSI)),
    ] = 0.10,
    psi_drift: Annotated[
        float,
        typer.Option(
            callback=finite(PSI), help=ranged("PSI at which a feature drifts (>= --psi-warn).", PSI)
        ),
    ] = 0.25,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    strict: StrictOpt = False,
    state: ReadStateOpt = None,
    legacy_json: Annotated[
        Path | None, typer.Argument(hidden=True, help="Old spelling: --json FILE.")
    ] = None,
    signing_key: SigningKeyOpt = None,
    expect_bundle: ExpectOpt = None,
    redact: RedactOpt = False,
) -> None:
    """What changed since training, in the features the model sees and in its output.

    The current data goes through the same pipeline as `fraud score` (continuing from the
    bundle's state). Verdicts come from effect sizes (PSI, Jensen-Shannon distance, missing-rate
    change); KS / chi-squared p-values, Benjamini-Hochberg adjusted, are supporting evidence.

    Example: fraud drift-report --current sample_data/drift.parquet --by day --report drift.json
    """
    check_distinct([current, reference], [("--report", report), ("--rejects", rejects)])
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
    from fraudcli.drift.verdict import DriftThresholds

    source = input_or_default(current)
    thresholds = DriftThresholds(psi_warn=psi_warn, psi_drift=psi_drift)
    from fraudcli.commands.drift_report import PERIODS

    if by is not None and by not in PERIODS:  # a usage error (exit 2) before the bundle
        raise UsageError(f"--by must be one of {', '.join(PERIODS)}")
    cfg = load_config(config, map_)
    session = begin(
        ctx,
        cfg,
        model=model,
        signing_key=signing_key,
        expect=expect_bundle,
        redact=redact,
    )
    with session.active(), progress("comparing", count_rows(source)) as advance:
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
            state_path=state,
            on_warning=print_warning,
        )
    print_drift(result)
    audit = session.finish(result.summary.to_dict())
    print_audit(audit)
    emit(
        result.to_dict() | {"audit": audit.to_dict()},
        json_ and legacy_json is None,
        report or legacy_json,
    )
    if fail_on_drift and result.verdict.level == "drift":
        raise DriftDetected("the dataset verdict is drift (--fail-on-drift)")
