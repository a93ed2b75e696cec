"""The `fraud` command: each subcommand parses options, calls one library function, renders."""

from __future__ import annotations

# Imported in the order `fraud --help` lists the commands.
from fraudcli.cli import (  # noqa: F401, E402, I001
    data_cmds,
    drift_cmd,
    model_cmds,  # noqa: F401, I001  (registers the subcommands)
    replay_cmd,
    state_cmds,
    state_sync_cmds,
)
from fraudcli.cli.app import app, terminate_on_sigterm


def main() -> None:
    terminate_on_sigterm()
    app()


__all__ = ["app", "main"]
