"""How far predicted probabilities are from observed frequencies.

brier        mean of (p - y)^2; the constant predictor (the observed fraud rate for every
             row) scores rate * (1 - rate), the bar a useful model must be under
reliability  rows sorted by p and cut into 10 bins of equal count (ties broken by input
             order): each bin's mean predicted probability against its observed fraud rate
ECE          expected calibration error: the row-weighted mean of |predicted - observed|
             over those bins

>>> y, p = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.7, 0.9])
>>> round(brier(y, p), 4), round(expected_calibration_error(y, p, bins=2), 4)
(0.0375, 0.15)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    n: int
    p_low: float  # the lowest and highest predicted probability in the bin
    p_high: float
    predicted: float  # mean predicted probability
    observed: float  # observed fraud rate

    def to_dict(self) -> dict:
        return vars(self).copy()


def brier(y: np.ndarray, p: np.ndarray) -> float:
    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2)) if len(y) else math.nan


def constant_brier(y: np.ndarray) -> float:
    """The Brier score of predicting the observed rate for every row: rate * (1 - rate)."""
    rate = float(np.mean(y)) if len(y) else math.nan
    return rate * (1.0 - rate)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> tuple[ReliabilityBin, ...]:
    """Equal-count bins of rows sorted by p (fewer bins when there are fewer rows)."""
    y, p = _arrays(y, p)
    order = np.argsort(p, kind="stable")
    parts = [part for part in np.array_split(order, min(bins, len(order))) if len(part)]
    return tuple(
        ReliabilityBin(
            len(part),
            float(p[part].min()),
            float(p[part].max()),
            float(p[part].mean()),
            float(y[part].mean()),
        )
        for part in parts
    )


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> float:
    table = reliability(y, p, bins)
    n = sum(b.n for b in table)
    if not n:
        return math.nan
    return math.fsum(b.n * abs(b.predicted - b.observed) for b in table) / n


def _arrays(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise ValueError(f"y and p must have equal length, got {len(y)} and {len(p)}")
    return y, p
