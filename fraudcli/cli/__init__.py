"""The `fraud` command: each subcommand parses options, calls one library function, renders."""

from __future__ import annotations

from fraudcli.cli import (  # noqa: F401  (register the subcommands)
    data_cmds,
    drift_cmd,
    model_cmds,
    replay_cmd,
)
from fraudcli.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
