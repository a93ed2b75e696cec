"""Accumulators for current data larger than memory: feed batches, then ask for the result.

PSI, bin counts, category counts and missing rates are exact over every row. KS and
Wasserstein use a bounded sample of the current values (`reservoir_size`, 20,000 by default):
the bottom-k sample of `sample.py`, deterministic for a seed and independent of batch sizes.
While fewer values than that have been seen the sample is all of them, so the result equals
`compare_numeric` on the concatenated batches. `NumericDrift.ks_n_cur` says which size was used.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from fraudcli.drift.compare import CategoricalDrift, NumericDrift, categorical_drift, numeric_drift
from fraudcli.drift.profile import (
    CategoricalProfile,
    NumericProfile,
    as_float_array,
    bin_index,
    count_categories,
)
from fraudcli.drift.sample import BottomK

RESERVOIR_SIZE = 20_000


class NumericAccumulator:
    """Bin counts, missing count and a bounded sample of one numeric column, batch by batch."""

    def __init__(
        self, ref: NumericProfile, *, reservoir_size: int = RESERVOIR_SIZE, seed: int = 0
    ) -> None:
        self.ref = ref
        self.counts_ = np.zeros(len(ref.counts), dtype=np.int64)
        self.n_rows_ = 0
        self.n_missing_ = 0
        self.sample_ = BottomK(reservoir_size, seed)

    def add(self, values: Any) -> NumericAccumulator:
        x = as_float_array(values)
        finite = np.isfinite(x)
        self.counts_ += np.bincount(
            bin_index(self.ref.edges, x[finite]), minlength=len(self.counts_)
        )
        self.n_rows_ += len(x)
        self.n_missing_ += len(x) - int(finite.sum())
        self.sample_.add(x)
        return self

    def result(self) -> NumericDrift:
        return numeric_drift(
            self.ref, self.counts_, self.n_rows_, self.n_missing_, self.sample_.sorted_values()
        )


class CategoricalAccumulator:
    """Category counts and missing count of one categorical column, batch by batch."""

    def __init__(self, ref: CategoricalProfile) -> None:
        self.ref = ref
        self.counts_: Counter[str] = Counter()
        self.n_rows_ = 0
        self.n_missing_ = 0

    def add(self, values: Any) -> CategoricalAccumulator:
        found, n_missing, n_rows = count_categories(values)
        self.counts_.update(found)
        self.n_rows_ += n_rows
        self.n_missing_ += n_missing
        return self

    def result(self) -> CategoricalDrift:
        return categorical_drift(self.ref, self.counts_, self.n_rows_, self.n_missing_)
