"""The time split of training data, in pieces both engines share: enough data to train, the
validation cutoff (NumPy's linear quantile, from two order statistics, so an engine that can
only find the k-th smallest timestamp across a cluster finds the same cutoff to the bit), and
a split that leaves enough rows on each side."""

from __future__ import annotations

import math
from collections.abc import Callable

from fraudcli.errors import InputError

MIN_ROWS = 100
MIN_FRAUD = 5


def check_enough(n: int, frauds: int) -> None:
    """InputError unless there are MIN_ROWS rows, MIN_FRAUD frauds and some legitimate ones."""
    if n < MIN_ROWS or frauds < MIN_FRAUD or frauds == n:
        raise InputError(
            f"not enough labelled data to train: {n} valid rows with {frauds} frauds "
            f"(need at least {MIN_ROWS} rows, {MIN_FRAUD} frauds and some legitimate ones)"
        )


def check_split(n_train: int, n_valid: int) -> None:
    if n_train < MIN_ROWS or n_valid < MIN_ROWS:
        raise InputError(
            "the data spans too little time for a split with a gap of the label delay: "
            "use more days of data, or lower [features] label_delay_days in fraud.toml"
        )


def linear_quantile(n: int, q: float, kth: Callable[[int], float]) -> float:
    """`numpy.quantile(values, q)` (method "linear") of n values, given `kth(i)`, the i-th
    smallest (from 0): NumPy's arithmetic, step by step (tests: bitwise equal)."""
    virtual = (n - 1) * q
    if virtual >= n - 1:
        return kth(n - 1)
    if virtual < 0:
        return kth(0)
    previous = math.floor(virtual)
    gamma = virtual - previous
    a, b = kth(previous), kth(previous + 1)
    diff = b - a
    return b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma
