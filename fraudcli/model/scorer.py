"""What the scoring paths need of a model, and loading one from a bundle's model.json.

The pipeline, the column path, the batch judge and the drift profile use only this interface,
so any model kind that offers it can serve. `fraud train` writes the binned logistic
regression (`fraudcli.model.binned`); the plain linear one (`fraudcli.model.logreg`) also fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from fraudcli.errors import BundleError


class Scorer(Protocol):
    @property
    def n_features(self) -> int: ...

    def decision_one(self, x: Sequence[float]) -> float: ...

    def proba_one(self, x: Sequence[float]) -> float: ...

    def contributions(self, x: Sequence[float]) -> list[float]: ...

    def decision(self, X: np.ndarray) -> np.ndarray: ...

    def proba(self, X: np.ndarray) -> np.ndarray: ...

    def contribution_matrix(self, X: np.ndarray) -> np.ndarray: ...

    def to_dict(self) -> dict: ...


def load_scorer(model: Mapping) -> Scorer:
    """The scorer a model.json describes, by its `kind`; BundleError when it is not one."""
    from fraudcli.model.binned import KIND, BinnedScorer
    from fraudcli.model.logreg import LinearScorer

    kind = model.get("kind") if isinstance(model, Mapping) else None
    if kind == KIND:
        return BinnedScorer.from_dict(model)
    if kind == "logistic_regression":
        return LinearScorer.from_dict(model)
    raise BundleError(f"model: unknown model kind {kind!r} in model.json; retrain")
