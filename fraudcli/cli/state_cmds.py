"""`fraud label` and `fraud state show`."""

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
    app,
    handled,
)
from fraudcli.cli.audit_opts import RedactOpt, SigningKeyOpt, begin, print_audit
from fraudcli.cli.render import emit
from fraudcli.config.load import load_config
from fraudcli.files import check_distinct

state_app = typer.Typer(
    name="state",
    help="Look at a feature state (a --state directory, a Redis state, or the model bundle's); "
    "copy one into Redis and back.",
    no_args_is_help=True,
)
app.add_typer(state_app)


@app.command()
@handled
def label(
    ctx: typer.Context,
    labels: Annotated[
        Path | None,
        typer.Argument(help="Labels: transaction_id, is_fraud, optional label_time [stdin]."),
    ],
    state: Annotated[
        str,
        typer.Option(
            "--state", help="Feature-state directory (or redis://... state) to give them to."
        ),
    ],
    model: ModelOpt = None,
    config: ConfigOpt = None,
    map_: MapOpt = None,
    rejects: RejectsOpt = None,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    signing_key: SigningKeyOpt = None,
    redact: RedactOpt = False,
) -> None:
    """Give labels that arrive after the fact (chargebacks) to a feature state.

    A label becomes visible to merchant features at the later of its transaction's time plus
    the label delay and its arrival: label_time if given, else the state's newest event time.
    A different label for the same id replaces the first; unknown ids are rejected.

    Example: fraud label chargebacks.csv --state fraud-state --map is_fraud=CHARGEBACK
    """
    check_distinct([labels], [("--report", report), ("--rejects", rejects)])
    from fraudcli.cli.render_state import print_label_summary
    from fraudcli.commands.label import label_file

    cfg = load_config(config)
    session = begin(ctx, cfg, model=model, signing_key=signing_key, redact=redact)
    with session.active():
        summary = label_file(
            labels,
            state_path=state,
            config=cfg,
            model_dir=model,
            rejects_path=rejects,
            mapping=map_,
        )
    print_label_summary(summary, rejects)
    audit = session.finish(summary.to_dict())
    print_audit(audit)
    emit(summary.to_dict() | {"audit": audit.to_dict()}, json_, report)


@state_app.command("show")
@handled
def state_show(
    ctx: typer.Context,
    path: Annotated[
        str | None,
        typer.Argument(help="State directory or redis://... state [default: the model bundle's]."),
    ] = None,
    model: ModelOpt = None,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    signing_key: SigningKeyOpt = None,
) -> None:
    """What a feature state holds: users, merchants, ids, time range, entries, labels, memory,
    and when it was last written.

    Example: fraud state show fraud-state --json
    """
    from fraudcli.cli.render_state import print_state
    from fraudcli.commands.state_show import show_state

    session = begin(
        ctx, load_config(None), model=model, signing_key=signing_key, loads_bundle=path is None
    )
    with session.active():
        result = show_state(path, model)
    print_state(result)
    emit(result.to_dict(), json_, report)
