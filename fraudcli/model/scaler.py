"""Standardisation fitted on training data: z = (x - mean_) / scale_."""

from __future__ import annotations

import numpy as np


class StandardScaler:
    """Column-wise standardisation, as scikit-learn's (population std, ddof=0).

    A zero-variance column gets scale 1, so it maps to 0 instead of dividing by zero.

    >>> s = StandardScaler().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[2.0, 5.0]])).tolist()
    [[0.0, 0.0]]
    """

    mean_: np.ndarray
    scale_: np.ndarray

    def fit(self, X: np.ndarray) -> StandardScaler:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"expected a non-empty 2-D matrix, got shape {X.shape}")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        # A constant column carries no signal: scale 1 keeps it near 0. Its computed std is
        # rounding noise (2e-13 for 1234.567 repeated), and dividing by that would blow up.
        noise = len(X) * np.finfo(np.float64).eps * np.abs(self.mean_)
        self.scale_ = np.where(std > noise, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_]}

    @classmethod
    def from_dict(cls, d: dict) -> StandardScaler:
        scaler = cls()
        scaler.mean_ = np.asarray(d["mean"], dtype=np.float64)
        scaler.scale_ = np.asarray(d["scale"], dtype=np.float64)
        if scaler.mean_.shape != scaler.scale_.shape or np.any(scaler.scale_ <= 0):
            raise ValueError("scaler: 'mean' and 'scale' must have equal length, scale > 0")
        return scaler
