"""The `fraud` command: each subcommand parses options, calls one library function, renders."""

from __future__ import annotations

from fraudcli.cli import data_cmds, model_cmds  # noqa: F401  (register the subcommands)
from fraudcli.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
