"""The `fraud` command: each subcommand parses options, calls one library function, renders."""

from __future__ import annotations

import sys

# Imported in the order `fraud --help` lists the commands.
from fraudcli.cli import (  # noqa: F401, E402, I001
    data_cmds,
    drift_cmd,
    model_cmds,  # noqa: F401, I001  (registers the subcommands)
    replay_cmd,
    state_cmds,
    state_sync_cmds,
)
from fraudcli.cli.app import app, only_the_command, terminate_on_sigterm


def main() -> None:
    """`fraud ...` (the console script is `fraudcli.entry.main`: this, with a quicker start)."""
    terminate_on_sigterm()
    only_the_command(app, sys.argv[1:])()


__all__ = ["app", "main"]
