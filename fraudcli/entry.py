"""The `fraud` command as installed (`fraudcli.cli.main`, started quickly).

The first moments of a command (imports, reading the bundle, restoring the store) make many
objects and almost no garbage, yet Python's cycle collector walked them all again and again:
80 ms of a one-record start here. It is off for the first `GC_AFTER` seconds, then runs as
usual with those objects frozen (kept out of its walks). At exit, Python collects over every
object still alive, more than once (50-120 ms): frozen, they are skipped, and still freed.
"""

from __future__ import annotations

import gc
import threading

GC_AFTER = 0.5  # seconds


def main() -> None:
    gc.disable()
    collector = threading.Timer(GC_AFTER, _collect_from_now_on)
    collector.daemon = True
    collector.start()
    try:
        from fraudcli.cli import main as fraud

        fraud()
    finally:
        collector.cancel()
        gc.freeze()


def _collect_from_now_on() -> None:
    gc.freeze()
    gc.enable()
