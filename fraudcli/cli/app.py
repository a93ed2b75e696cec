"""The `fraud` Typer app, its shared options and the error boundary.

Exit codes: 0 ok; 1 runtime failure; 2 usage or configuration error; 3 bad input (unreadable
file, or a reject under --strict); 4 model bundle or state missing or invalid; 5 replay p99 above
--slo-p99-ms; 6 drift found under --fail-on-drift; 130 interrupted; 141 the reader of the output
closed it (SIGPIPE); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import copy
import functools
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from fraudcli import __version__
from fraudcli.cli.console import err, safe
from fraudcli.cli.options import finite, ranged
from fraudcli.errors import EXIT_RUNTIME, FraudError
from fraudcli.ranges import CHECKPOINT_SECONDS

EXIT_SIGPIPE = 141  # what a shell reports for a process ended by SIGPIPE

EXIT_CODES = (
    "Exit codes: 0 ok · 1 runtime failure · 2 usage/config error · 3 bad input "
    "(unreadable file, or a reject under --strict) · 4 model bundle or state invalid · "
    "5 replay p99 above --slo-p99-ms · 6 drift under --fail-on-drift · 130 interrupted · "
    "141 the reader of the output closed it · 143 terminated."
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
CsvRawOpt = Annotated[
    bool,
    typer.Option(
        "--csv-raw",
        help="Write CSV text cells as they are: by default a cell a spreadsheet would run as a "
        "formula (starting with = + - @, tab or CR, and not a number) gets a ' in front.",
    ),
]
StatePathOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        help="Feature-state directory: continue from it if it exists (else from the bundle's "
        "state), and write it back when the run ends. Or a shared Redis state, "
        "redis://[:PASSWORD@]HOST:PORT/DB (rediss:// TLS, unix:///PATH.sock, ?prefix=, ?ttl=), "
        "updated transaction by transaction.",
    ),
]
ReadStateOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        help="Feature-state directory (or redis://... state) to continue from (read, never "
        "written).",
    ),
]
OverwriteStateOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite-state", help="With --fresh-state: start the --state directory again."
    ),
]
CheckpointOpt = Annotated[
    float,
    typer.Option(
        "--checkpoint-every",
        callback=finite(CHECKPOINT_SECONDS),
        help=ranged(
            "Seconds between checkpoints of --state while decisions stream to stdout.",
            CHECKPOINT_SECONDS,
        ),
    ),
]
# One convention for machine-readable results: --json prints them on stdout, --report FILE
# writes the same JSON to a file (commands whose stdout carries data have --report only).
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Write the result as JSON to this file.")
]


def handled(command):
    """Turn library errors into a one-line message and a documented exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except FraudError as exc:
            err.print(f"[bold red]error:[/] {safe(exc)}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader of stdout went away (`| head`)
            stdout_gone()
            err.print("[yellow]stopped: the reader closed the output[/]")
            raise typer.Exit(EXIT_SIGPIPE) from None
        except OSError as exc:  # a file that cannot be written (no such folder, disk full...)
            where = f": {exc.filename}" if exc.filename else ""
            err.print(f"[bold red]error:[/] {safe(f'{exc.strerror or exc}{where}')}")
            raise typer.Exit(EXIT_RUNTIME) from None

    return wrapper


def stdout_gone() -> None:
    """stdout's reader went away: later writes (Python's own flush at exit) go to /dev/null,
    so no second BrokenPipeError is printed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def only_the_command(whole: typer.Typer, args: list[str]) -> typer.Typer:
    """The app with only the command that `args` name (`score`, `state`...), when they name
    one: Typer reads every command's signature before it runs one (20-30 ms of each start for
    options never used). `fraud`, `fraud --help` and a misspelt command get the whole app."""
    name = args[0] if args else "-"
    commands = [c for c in whole.registered_commands if _command_name(c) == name]
    groups = [g for g in whole.registered_groups if g.typer_instance.info.name == name]
    if not commands and not groups:
        return whole
    one = copy.copy(whole)
    one.registered_commands, one.registered_groups = commands, groups
    return one


def _command_name(command: typer.models.CommandInfo) -> str:
    return command.name or command.callback.__name__.lower().replace("_", "-")


def terminate_on_sigterm() -> None:
    """SIGTERM unwinds the run like an error (outputs not renamed into place), exit 143."""

    def terminated(signum, frame):
        err.print("[yellow]terminated[/]")
        raise SystemExit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, terminated)


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
