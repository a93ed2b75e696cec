"""A deterministic sample that does not depend on how the rows were batched.

Each row gets a pseudo-random key from its position in the whole input (SplitMix64 of the row
index and the seed); the sample is the `size` valid rows with the smallest keys ("bottom-k").
So profiling a column in one call, or streaming it in batches of any size through
`BottomK.add`, keeps exactly the same rows.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = 0x9E3779B97F4A7C15


def row_keys(start: int, n: int, seed: int) -> np.ndarray:
    """SplitMix64 keys (uint64) of rows start .. start + n - 1. Array arithmetic wraps silently."""
    z = np.arange(start, start + n, dtype=np.uint64)
    z += np.uint64((seed * _GOLDEN + _GOLDEN) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _smallest(keys: np.ndarray, size: int) -> np.ndarray:
    """Indices of the `size` smallest keys (all of them if there are fewer)."""
    if len(keys) <= size:
        return np.arange(len(keys))
    return np.argpartition(keys, size - 1)[:size]


class BottomK:
    """Bounded, batch-invariant sample of the finite values of a stream."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.seed = seed
        self.n_seen_ = 0
        self.keys_ = np.empty(0, dtype=np.uint64)
        self.values_ = np.empty(0, dtype=np.float64)

    def add(self, values: np.ndarray) -> BottomK:
        """Offer one batch (NaN and infinities are skipped but still advance the row index)."""
        keys = row_keys(self.n_seen_, len(values), self.seed)
        self.n_seen_ += len(values)
        valid = np.isfinite(values)
        keys = np.concatenate([self.keys_, keys[valid]])
        values = np.concatenate([self.values_, values[valid]])
        keep = _smallest(keys, self.size)
        self.keys_, self.values_ = keys[keep], values[keep]
        return self

    def sorted_values(self) -> np.ndarray:
        return np.sort(self.values_)


def bottom_k_sample(values: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Sorted sample of up to `size` finite values of `values` (the same rows as `BottomK`)."""
    return BottomK(size, seed).add(np.asarray(values, dtype=np.float64)).sorted_values()
