"""The `fraud` Typer app, its shared options and the error boundary.

Exit codes: 0 ok; 1 runtime failure; 2 usage or configuration error; 3 bad input (unreadable
file, or a reject under --strict); 4 model bundle missing or invalid; 5 replay p99 above
--slo-p99-ms; 6 drift found under --fail-on-drift; 130 interrupted.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from fraudcli import __version__
from fraudcli.console import err
from fraudcli.errors import EXIT_RUNTIME, FraudError

EXIT_CODES = (
    "Exit codes: 0 ok · 1 runtime failure · 2 usage/config error · 3 bad input "
    "(unreadable file, or a reject under --strict) · 4 model bundle missing/invalid · "
    "5 replay p99 above --slo-p99-ms · 6 drift under --fail-on-drift · 130 interrupted."
)

app = typer.Typer(
    name="fraud",
    help="Train, score, replay and watch a real-time card-fraud detector.\n\n"
    "Example: fraud train && fraud score < sample_data/txns.jsonl",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="fraud.toml to use [default: ./fraud.toml if present]."),
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="FIELD=COLUMN, e.g. user_id=CUSTOMER_ID. Repeatable."),
]
ModelOpt = Annotated[
    Path | None, typer.Option("--model", help="Model bundle directory [default: ./fraud-model].")
]
RejectsOpt = Annotated[
    Path | None, typer.Option("--rejects", help="Write rejected records (JSONL) to this file.")
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Stop at the first rejected record.")]


def handled(command):
    """Turn library errors into a one-line message and a documented exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except FraudError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")  # `[policy]` is not markup
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader of stdout went away (`| head`): nothing to say
            raise
        except OSError as exc:  # a file that cannot be written (no such folder, disk full...)
            where = f": {exc.filename}" if exc.filename else ""
            err.print(f"[bold red]error:[/] {exc.strerror or exc}{where}", highlight=False)
            raise typer.Exit(EXIT_RUNTIME) from None

    return wrapper


def version_callback(value: bool) -> None:
    if value:
        print(f"fraud {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Show version."),
    ] = None,
) -> None:
    """Train, score, replay and watch a real-time card-fraud detector."""
