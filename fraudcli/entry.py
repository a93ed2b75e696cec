"""The `fraud` command as installed (`fraudcli.cli.main`, started quickly).

NumPy's OpenBLAS starts a thread per core when it loads, and they spin for a while: 60 ms of
CPU in every start here. Its products in deciding are too small to share out (a block's
scores are one matrix-vector product), so every command but `train` runs it on one thread
unless OPENBLAS_NUM_THREADS says otherwise (`train` on 1M rows took as long either way on
this 2-core machine; on more cores its fit may gain from them).

The first moments of a command (imports, reading the bundle, restoring the store) make many
objects and almost no garbage, yet Python's cycle collector walked them all again and again:
80 ms of a one-record start here. It is off for the first `GC_AFTER` seconds, then runs as
usual with those objects frozen (kept out of its walks). At exit, Python collects over every
object still alive, more than once (50-120 ms): frozen, they are skipped, and still freed.
"""

from __future__ import annotations

import gc
import os
import sys
import threading

GC_AFTER = 0.5  # seconds


def main() -> None:
    if sys.argv[1:2] != ["train"]:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
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
