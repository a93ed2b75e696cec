"""Progress bars: on stderr when it is a terminal, once the work has lasted a moment."""

from __future__ import annotations

import io

from rich.console import Console

from fraudcli.cli import console


def _terminal(monkeypatch, show_after: float) -> io.StringIO:
    screen = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=screen, force_terminal=True, width=100))
    monkeypatch.setattr(console, "SHOW_AFTER", show_after)
    return screen


def test_a_bar_counts_the_work_once_shown(monkeypatch):
    screen = _terminal(monkeypatch, 0.0)
    with console.progress_later("scoring") as (advance, set_total):
        advance(3)
        set_total(7)
        advance(4)
    assert "scoring" in screen.getvalue() and "7/7" in screen.getvalue()


def test_work_that_ends_at_once_shows_no_bar(monkeypatch):
    screen = _terminal(monkeypatch, 60.0)
    with console.progress("scoring", 5) as advance:
        advance(5)
    assert screen.getvalue() == ""


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=screen, force_terminal=False))
    monkeypatch.setattr(console, "SHOW_AFTER", 0.0)
    with console.progress("scoring", 5) as advance:
        advance(5)
    assert screen.getvalue() == ""
