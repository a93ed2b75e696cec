"""Strict-JSON helpers: NaN (an undefined statistic) is written as null and read back as NaN."""

from __future__ import annotations

import math
from collections.abc import Iterable


def num(x: float) -> float | None:
    """A float for JSON: None for NaN or an infinity."""
    x = float(x)
    return x if math.isfinite(x) else None


def nums(xs: Iterable[float]) -> list[float | None]:
    return [num(x) for x in xs]


def unnum(x: float | None) -> float:
    return math.nan if x is None else float(x)
