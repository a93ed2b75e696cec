"""`fraud state push` and `fraud state pull`: a state copied into Redis, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fraudcli.cli.app import JsonOpt, ReportOpt, handled
from fraudcli.cli.audit_opts import SigningKeyOpt, begin
from fraudcli.cli.console import err, progress, safe
from fraudcli.cli.render import emit
from fraudcli.cli.state_cmds import state_app
from fraudcli.config.load import load_config

OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace the state already at the target.")
]


@state_app.command("push")
@handled
def state_push(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A state directory, or a model bundle.")],
    target: Annotated[str, typer.Argument(help="The Redis state: redis://HOST:PORT/DB ...")],
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
    report: ReportOpt = None,
    signing_key: SigningKeyOpt = None,
) -> None:
    """Copy a state directory's (or a model bundle's) feature state into Redis, pipelined,
    for runs that share it (--state redis://...).

    Example: fraud state push fraud-state redis://localhost:6379/0?prefix=fraud:
    """
    from fraudcli.commands.state_sync import is_bundle, push_state

    bundle = is_bundle(source)
    session = begin(
        ctx, load_config(None), model=source if bundle else None, signing_key=signing_key,
        loads_bundle=bundle,
    )  # fmt: skip
    with session.active():
        result = push_state(
            source, target, overwrite=overwrite, progress=lambda n: progress("pushing", n)
        )
    err.print(safe(format_synced(result)))
    emit(result.to_dict(), json_, report)


@state_app.command("pull")
@handled
def state_pull(
    source: Annotated[str, typer.Argument(help="The Redis state: redis://HOST:PORT/DB ...")],
    target: Annotated[Path, typer.Argument(help="The state directory to write.")],
    overwrite: OverwriteOpt = False,
    json_: JsonOpt = False,
    report: ReportOpt = None,
) -> None:
    """Copy a Redis feature state into a state directory (written whole, then swapped into
    place), e.g. to keep a copy or to continue on one machine.

    Example: fraud state pull redis://localhost:6379/0 fraud-state-copy
    """
    from fraudcli.commands.state_sync import pull_state

    result = pull_state(source, target, overwrite=overwrite)
    err.print(safe(format_synced(result)))
    emit(result.to_dict(), json_, report)


def format_synced(result) -> str:
    data = result.to_dict()
    return (
        f"{data['source']} -> {data['target']}: {data['rows']:,} rows ({data['users']:,} "
        f"users, {data['merchants']:,} merchants, {data['transactions']:,} transaction ids) "
        f"in {data['seconds']:.2f} s"
    )
