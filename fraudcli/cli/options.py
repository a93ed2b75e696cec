"""Numeric options checked by Typer: finite and in their stated range, or exit 2 naming the option.

    tps: Annotated[float | None, typer.Option("--tps", callback=finite(TPS), help=...)] = None

Typer's float type takes `nan`, `inf` and `1e400` (= inf), and its `min=` lets `inf` through
and reports `nan` as "should be >= ...": so a float option gets a callback instead, built from
the library's own `Range` (the library checks the same range for Python callers).
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from fraudcli.ranges import Range


def finite(bounds: Range) -> Callable[[float | None], float | None]:
    """A Typer callback: the value unchanged, or BadParameter (exit 2, naming the option)."""

    def check(value: float | None) -> float | None:
        if value is not None and value not in bounds:
            raise typer.BadParameter(f"must be a finite number with {bounds}, got {value!r}")
        return value

    return check


def ranged(text: str, bounds: Range) -> str:
    """Help text with its range: `ranged("Records/s.", TPS)` -> 'Records/s. [0.001 <= x <= ...]'."""
    return f"{text} [{bounds}]"
