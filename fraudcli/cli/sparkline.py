"""One-line histograms for the terminal: ▁▂▃▄▅▆▇█, one character per bin."""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(proportions: Sequence[float], top: float | None = None) -> str:
    """Block characters scaled to `top` (default: the largest value); pass the same `top` to
    draw a reference and a current histogram on one scale. Zero or NaN is a space, so an empty
    bin is visibly empty; any positive value gets at least ▁.

    >>> sparkline([0.0, 0.25, 0.5, 1.0])
    ' ▂▄█'
    """
    values = [float(v) for v in proportions]
    scale = top if top is not None else max((v for v in values if v > 0), default=0.0)
    return "".join(_block(v, scale) for v in values)


def _block(value: float, scale: float) -> str:
    if math.isnan(value) or value <= 0 or scale <= 0:
        return " "
    step = math.ceil(min(value / scale, 1.0) * len(BLOCKS)) - 1
    return BLOCKS[max(step, 0)]
