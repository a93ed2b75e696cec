"""`fraud drift-report`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fraudcli.cli.app import ConfigOpt, MapOpt, ModelOpt, RejectsOpt, StrictOpt, app, handled
from fraudcli.cli.audit_opts import ExpectOpt, RedactOpt, SigningKeyOpt, begin, print_audit
from fraudcli.config import load_config
from fraudcli.console import progress
from fraudcli.errors import DriftDetected, UsageError
from fraudcli.io import count_rows
from fraudcli.render import finite
from fraudcli.samples import DRIFT, sample_path


@app.command("drift-report")
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
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write everything as JSON.")
    ] = None,
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
    signing_key: SigningKeyOpt = None,
    expect_bundle: ExpectOpt = None,
    redact: RedactOpt = False,
) -> None:
    """What changed since training, in the features the model sees and in its output.

    The current data goes through the same pipeline as `fraud score` (continuing from the
    bundle's state). Verdicts come from effect sizes (PSI, Jensen-Shannon distance, missing-rate
    change); KS / chi-squared p-values, Benjamini-Hochberg adjusted, are supporting evidence.

    Example: fraud drift-report --current sample_data/drift.parquet --by day --json drift.json
    """
    from fraudcli.drift import Thresholds
    from fraudcli.drift_render import print_drift
    from fraudcli.driftreport import PERIODS
    from fraudcli.driftreport import drift_report as run

    source = current or sample_path(DRIFT)
    thresholds = Thresholds(psi_warn=psi_warn, psi_drift=psi_drift)
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
        )
    print_drift(result)
    audit = session.finish(result.summary.to_dict())
    print_audit(audit)
    if json_out is not None:
        data = result.to_dict() | {"audit": audit.to_dict()}
        json_out.write_text(json.dumps(finite(data), indent=2) + "\n")
    if fail_on_drift and result.verdict.level == "drift":
        raise DriftDetected("the dataset verdict is drift (--fail-on-drift)")
