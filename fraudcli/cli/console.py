"""Where humans read: a Rich console on stderr (stdout carries data only) and progress bars."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (0x0A,)}


def safe(text: object) -> str:
    """User text (data, paths, names) made fit to print through Rich: markup escaped, so
    `[/x]` is shown and never parsed, and control characters shown escaped (the byte ESC as
    the four characters `\\x1b`), never sent raw to the terminal."""
    return escape(str(text).translate(_CONTROL))


# Rich honours NO_COLOR and drops colour and animation when stderr is not a terminal.
err = Console(stderr=True, highlight=False, soft_wrap=True)
if not err.is_terminal and "COLUMNS" not in os.environ:
    err.width = 120  # logs and pipes: wide enough for the report tables, unlike Rich's 80


# a run that ends sooner shows no bar: nothing flashes by, and a one-record start does not load
# Rich's progress module (35 ms)
SHOW_AFTER = 0.25


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields `advance(n)`. Silent when stderr is not a terminal,
    and until the work has lasted `SHOW_AFTER` seconds."""
    with _bar(description, total) as bar:
        yield bar.advance


@contextmanager
def progress_later(description: str) -> Iterator[tuple[Callable, Callable]]:
    """`progress` whose total is known later: yields `advance(n)` and `set_total(n)`."""
    with _bar(description, None) as bar:
        yield bar.advance, bar.set_total


@contextmanager
def _bar(description: str, total: int | None) -> Iterator[_Bar]:
    bar = _Bar(description, total)
    try:
        yield bar
    finally:
        bar.close()


class _Bar:
    def __init__(self, description: str, total: int | None) -> None:
        self.description, self.total, self.completed = description, total, 0
        self.since = time.monotonic()
        self.shown = None  # (rich.progress.Progress, its task) once shown

    def advance(self, n: int) -> None:
        self.completed += n
        if self.shown is None:
            if not err.is_terminal or time.monotonic() - self.since < SHOW_AFTER:
                return
            self.shown = _shown(self.description, self.total, self.completed)
        bar, task = self.shown
        bar.update(task, completed=self.completed)

    def set_total(self, total: int) -> None:
        self.total = total
        if self.shown is not None:
            bar, task = self.shown
            bar.update(task, total=total)

    def close(self) -> None:
        if self.shown is not None:
            self.shown[0].stop()


def _shown(description: str, total: int | None, completed: int):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    bar = Progress(*columns, console=err, transient=True)
    bar.start()
    return bar, bar.add_task(description, total=total, completed=completed)


@contextmanager
def status(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner with a changing message for stages of unknown length; yields `update(text)`."""
    if not err.is_terminal:
        yield lambda _text: None
        return
    with err.status(message) as live:
        yield lambda text: live.update(text)
