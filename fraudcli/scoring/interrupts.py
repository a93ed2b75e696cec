"""Ctrl-C and SIGTERM held while a batch changes the feature state, delivered after it.

A checkpoint on an interrupt must cover exactly the records whose decisions were written, so
the state must not stop halfway through a record (its user updated, its merchant not). While
`held_signals()` is in force, a signal that arrives inside a `region()` (deciding a batch) is
kept and raised by `deliver()`, which the run calls where the state and the output agree
(after handing the batch to the writer); one that arrives elsewhere (waiting for input, in
the writer, idle) is raised at once, as without it. Only the main thread receives signals.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Held:
    depth = 0
    pending: int | None = None
    previous: dict = {}


_HELD = _Held()


@contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM inside `region()`s while in force (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    _HELD.previous, _HELD.pending = previous, None

    def handler(signum, frame):
        if _HELD.depth:
            _HELD.pending = signum
        else:
            _raise(signum, frame)

    for sig in _SIGNALS:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _HELD.pending, _HELD.previous = None, {}


@contextmanager
def region() -> Iterator[None]:
    """Signals wait until `deliver()` while inside."""
    _HELD.depth += 1
    try:
        yield
    finally:
        _HELD.depth -= 1


def deliver() -> None:
    """Raise a signal held in a region (KeyboardInterrupt, or SIGTERM's SystemExit(143))."""
    signum = _HELD.pending
    if signum is not None and not _HELD.depth:
        _HELD.pending = None
        _raise(signum, None)


def _raise(signum: int, frame) -> None:
    previous = _HELD.previous.get(signum)
    if callable(previous):
        previous(signum, frame)  # Python's KeyboardInterrupt, or the CLI's SIGTERM handler
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)
