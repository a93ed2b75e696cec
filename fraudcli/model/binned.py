"""The binned model for serving: per feature, its bin edges and a weight per bin.

    decision(x) = intercept + sum_j weights_j[slot_j(x_j)]        P(fraud) = sigmoid(decision)

`slot_j` is the bin of x_j (`bisect_left` on the feature's edges, see `fraudcli.model.binning`)
or the missing slot when x_j is NaN. A feature's *contribution* is its slot's weight minus the
feature's baseline, the average of its weights over the training rows: how much this value moves
the log-odds away from the average transaction's. Contributions add up to the decision minus
`base` = intercept + sum of the baselines. A missing value in a feature the training data never
lacked gets the baseline: it moves nothing.

`proba_one` is plain Python (one `bisect` per feature); `proba` is its vectorised twin
(`np.searchsorted`), adding the same floats in the same order, so the two agree to the last bit
of the decision and within 1e-15 of the probability.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import getitem

import numpy as np

from fraudcli.errors import BundleError
from fraudcli.model.binning import Edges, column_codes
from fraudcli.model.logreg import expit, sigmoid

KIND = "binned_logistic_regression"
PICK_ROWS = 16_384  # rows binned together: their 26 columns stay in cache


@dataclass(frozen=True)
class BinnedScorer:
    edges: Edges
    weights: tuple[tuple[float, ...], ...]  # per feature: len(edges) + 1 bins, then missing
    counts: tuple[tuple[int, ...], ...]  # training rows in each slot
    intercept: float
    baselines: tuple[float, ...]
    fit: Mapping[str, object]  # how it was fitted (C, iterations...): carried, not used

    @classmethod
    def build(
        cls,
        edges: Edges,
        weights: Sequence[Sequence[float]],
        counts: Sequence[Sequence[int]],
        intercept: float,
        fit: Mapping[str, object] | None = None,
    ) -> BinnedScorer:
        edges = tuple(tuple(float(e) for e in column) for column in edges)
        counts = tuple(tuple(int(c) for c in column) for column in counts)
        weights = tuple(tuple(float(v) for v in column) for column in weights)
        _check_shapes(edges, weights, counts)
        baselines = tuple(
            math.fsum(c * w for c, w in zip(cs, ws, strict=True)) / max(sum(cs), 1)
            for cs, ws in zip(counts, weights, strict=True)
        )
        weights = tuple(
            (*ws[:-1], b) if cs[-1] == 0 else ws
            for ws, cs, b in zip(weights, counts, baselines, strict=True)
        )
        return cls(edges, weights, counts, float(intercept), baselines, dict(fit or {}))

    @property
    def n_features(self) -> int:
        return len(self.edges)

    @property
    def base(self) -> float:
        """The decision of a transaction every feature of which sits at its baseline."""
        return self.intercept + math.fsum(self.baselines)

    def slots_one(self, x: Sequence[float]) -> list[int]:
        """The slot of each value of one record."""
        if len(x) != len(self.edges):
            raise ValueError(f"expected {len(self.edges)} features, got {len(x)}")
        slots = list(map(bisect_left, self.edges, x))
        total = sum(x)
        if total != total:  # a NaN somewhere (or inf - inf): find which values are missing
            for j, v in enumerate(x):
                if v != v:
                    slots[j] = len(self.edges[j]) + 1
        return slots

    def decision_one(self, x: Sequence[float]) -> float:
        total = sum(x)
        if total != total or len(x) != len(self.edges):  # NaN (missing values), or a mistake
            return self.intercept + sum(map(getitem, self.weights, self.slots_one(x)))
        # a map of maps: no list, no Python-level loop (a NaN would break bisect, see above)
        return self.intercept + sum(map(getitem, self.weights, map(bisect_left, self.edges, x)))

    def proba_one(self, x: Sequence[float]) -> float:
        """P(fraud) for one record of raw features: a bisect and a lookup per feature."""
        return sigmoid(self.decision_one(x))

    predict_proba_one = proba_one

    def contributions(self, x: Sequence[float]) -> list[float]:
        """Each feature's slot weight minus its baseline (log-odds against the average)."""
        chosen = map(getitem, self.weights, self.slots_one(x))
        return [w - b for w, b in zip(chosen, self.baselines, strict=True)]

    def picked(self, X: np.ndarray) -> np.ndarray:
        """(n_features, n): the weight each value of each row picks. Rows are taken a chunk
        at a time, each chunk transposed while it is in cache: transposing a whole block of
        a quarter of a million rows at once took up to 1 s in `fraud score` (26 passes over
        55 MB), a chunk at a time about 20 ms."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, self.n_features)
        out = np.empty((self.n_features, len(X)))
        for start in range(0, len(X), PICK_ROWS):
            rows = slice(start, start + PICK_ROWS)
            columns = np.ascontiguousarray(X[rows].T)
            for j, (edges, weights) in enumerate(self._arrays):
                codes = column_codes(columns[j], edges).astype(np.intp)
                out[j, rows] = np.take(weights, codes)
        return out

    @cached_property
    def _arrays(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        return tuple(
            (np.asarray(e, dtype=np.float64), np.asarray(w, dtype=np.float64))
            for e, w in zip(self.edges, self.weights, strict=True)
        )

    def decision(self, X: np.ndarray) -> np.ndarray:
        picked = self.picked(X)
        total = np.zeros(picked.shape[1])
        for weights in picked:  # the same order of additions as `decision_one`
            total += weights
        return self.intercept + total

    def proba(self, X: np.ndarray) -> np.ndarray:
        """P(fraud) per row of a raw feature matrix, shape (n,)."""
        return expit(self.decision(X))

    def contribution_matrix(self, X: np.ndarray) -> np.ndarray:
        """`contributions` of each row of X, shape (n, n_features)."""
        return self.picked(X).T - np.asarray(self.baselines)

    def to_dict(self) -> dict:
        return {
            "kind": KIND,
            "edges": [list(e) for e in self.edges],
            "weights": [list(w) for w in self.weights],
            "counts": [list(c) for c in self.counts],
            "intercept": self.intercept,
            "fit": dict(self.fit),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> BinnedScorer:
        try:
            if d.get("kind") != KIND:
                raise ValueError(f"unknown model kind {d.get('kind')!r}")
            scorer = cls.build(d["edges"], d["weights"], d["counts"], d["intercept"], d["fit"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"model: malformed model.json ({exc}); retrain") from None
        numbers = [scorer.intercept, *scorer.baselines]
        numbers += [v for column in (*scorer.edges, *scorer.weights) for v in column]
        if not all(map(math.isfinite, numbers)):
            raise BundleError("model: non-finite values in model.json; retrain")
        return scorer


def _check_shapes(edges: Edges, weights, counts) -> None:
    if not len(edges) == len(weights) == len(counts):
        raise ValueError("edges, weights and counts must have one entry per feature")
    for j, (e, w, c) in enumerate(zip(edges, weights, counts, strict=True)):
        if not len(w) == len(c) == len(e) + 2:
            raise ValueError(f"feature {j}: {len(e)} edges need {len(e) + 2} weights and counts")
        if any(b <= a for a, b in zip(e, e[1:], strict=False)):
            raise ValueError(f"feature {j}: edges must increase")
        if any(n < 0 for n in c):
            raise ValueError(f"feature {j}: negative counts")
