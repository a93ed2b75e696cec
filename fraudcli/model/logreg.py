"""Binary logistic regression (L2, L-BFGS) and the scorer that serves it one record at a time.

`LogisticRegression` minimises exactly scikit-learn's lbfgs objective

    sum_i w_i * logloss_i  +  ||coef||^2 / (2 C)          (intercept not penalised)

with w_i = sample_weight_i * class_weight[y_i]. `LinearScorer` folds a fitted `StandardScaler`
into the weights so that scoring one record is a pure-Python dot product and a sigmoid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import mul
from typing import Literal

import numpy as np

from fraudcli.errors import BundleError
from fraudcli.model.scaler import StandardScaler

ClassWeight = Literal["balanced"] | Mapping[int, float] | None


def logistic_objective(
    params: np.ndarray, X: np.ndarray, y: np.ndarray, weight: np.ndarray, C: float
) -> tuple[float, np.ndarray]:
    """The penalised loss and its gradient at `params` = (coef..., intercept).

    `weight` is the per-row weight (sample weight times class weight).
    """
    total = float(weight.sum())
    value, grad = _scaled_objective(params, X, y, weight / total, 1.0 / (C * total))
    return value * total, grad * total


def _scaled_objective(
    params: np.ndarray, X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """The objective divided by sum(weight) (`w` sums to 1, `l2` = 1/(C sum(weight))).

    Same minimiser, but gradients of order 1 whatever n is, so `tol` means the same on
    a thousand rows as on a million (scikit-learn scales it the same way).
    """
    coef, intercept = params[:-1], params[-1]
    # einsum, not BLAS: the products are memory-bound, and BLAS threads waking up on every
    # call made small fits 10x slower on a busy machine (and results depend on thread count)
    z = np.einsum("ij,j->i", X, coef)
    z += intercept
    softplus, p = _softplus_and_sigmoid(z)
    # logloss_i = log(1 + e^z_i) - y_i z_i
    softplus -= y * z
    value = float(np.einsum("i,i->", w, softplus)) + 0.5 * l2 * float(coef @ coef)
    residual = w * (p - y)
    grad = np.empty_like(params)
    grad[:-1] = np.einsum("i,ij->j", residual, X) + l2 * coef
    grad[-1] = residual.sum()
    return value, grad


def _softplus_and_sigmoid(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + e^z) and 1 / (1 + e^-z) from one exp(-|z|): no overflow for any z, and
    twice as fast as np.logaddexp + expit on a million rows."""
    e = np.exp(-np.abs(z))
    softplus = np.log1p(e)
    softplus += np.maximum(z, 0.0)
    p = 1.0 / (1.0 + e)
    np.multiply(p, e, out=p, where=z < 0.0)
    return softplus, p


def row_weights(
    y: np.ndarray, sample_weight: np.ndarray | None, class_weight: ClassWeight
) -> np.ndarray:
    """sample_weight * class_weight[y], with "balanced" = sum(sw) / (2 * weighted count)."""
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    if sw.shape != y.shape or np.any(sw < 0) or not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight must be finite, non-negative, one per row")
    if class_weight is None:
        return sw
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight must be 'balanced', a dict or None, not {class_weight!r}"
            )
        counts = np.bincount(y.astype(np.int64), weights=sw, minlength=2)
        if not np.all(counts > 0):
            raise ValueError("class_weight='balanced' needs weight on both classes")
        per_class = counts.sum() / (2.0 * counts)
    else:
        per_class = np.array([float(class_weight.get(0, 1.0)), float(class_weight.get(1, 1.0))])
    return sw * per_class[y.astype(np.int64)]


class LogisticRegression:
    """L2-penalised binary logistic regression, scikit-learn conventions and objective.

    `predict_proba(X)` is shaped (n, 2) as in scikit-learn; `predict_fraud_proba(X)` is the
    1-D probability of class 1 (fraud). After `fit`: `coef_` (n_features,), `intercept_`
    (float), `n_iter_`, `converged_`, `grad_norm_` (largest gradient component of the
    objective divided by the total weight) and `message_` (the optimiser's own words).
    A fit that did not converge is not an error and emits no warning: check `converged_`.
    """

    coef_: np.ndarray
    intercept_: float
    n_iter_: int
    converged_: bool
    grad_norm_: float
    message_: str

    def __init__(
        self,
        C: float = 1.0,
        class_weight: ClassWeight = "balanced",
        tol: float = 1e-8,
        max_iter: int = 1000,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter

    def fit(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> LogisticRegression:
        X, y = _check_xy(X, y)
        if not 0 < self.C < math.inf:
            raise ValueError(f"C must be a finite number > 0, got {self.C}")
        weight = row_weights(y, sample_weight, self.class_weight)
        total = float(weight.sum())
        if not total > 0:
            raise ValueError("the rows' weights sum to zero: nothing to fit")
        from scipy.optimize import minimize  # only training needs it: 0.5 s of imports

        result = minimize(
            _scaled_objective,
            np.zeros(X.shape[1] + 1),
            args=(X, y, weight / total, 1.0 / (self.C * total)),
            method="L-BFGS-B",
            jac=True,
            # ftol as scikit-learn: stop only when f no longer moves at machine precision
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * np.finfo(float).eps},
        )
        self._set_result(result)
        return self

    def _set_result(self, result) -> None:
        self.coef_ = np.asarray(result.x[:-1], dtype=np.float64).copy()
        self.intercept_ = float(result.x[-1])
        self.n_iter_ = int(result.nit)
        self.grad_norm_ = float(np.max(np.abs(result.jac)))
        self.message_ = str(result.message)
        # status 0: the projected gradient is below tol, or f stopped changing in float64
        self.converged_ = bool(result.status == 0 or self.grad_norm_ <= self.tol)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_

    def predict_fraud_proba(self, X: np.ndarray) -> np.ndarray:
        """P(fraud) per row, shape (n,)."""
        return expit(self.decision_function(X))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """[P(legit), P(fraud)] per row, shape (n, 2), as scikit-learn."""
        p = self.predict_fraud_proba(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.decision_function(X) > 0.0).astype(np.int8)

    def to_dict(self) -> dict:
        return {
            "C": float(self.C),
            "coef": [float(v) for v in self.coef_],
            "intercept": self.intercept_,
            "n_iter": self.n_iter_,
            "converged": self.converged_,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> LogisticRegression:
        """A fitted model from `to_dict()` output (hyperparameters other than C are not kept)."""
        try:
            model = cls(C=float(d["C"]))
            model.coef_ = np.asarray(d["coef"], dtype=np.float64)
            model.intercept_ = float(d["intercept"])
            model.n_iter_ = int(d.get("n_iter", 0))
            model.converged_ = bool(d.get("converged", True))
        except (AttributeError, KeyError, OverflowError, TypeError, ValueError) as exc:
            raise BundleError(f"model: malformed logistic regression ({exc})") from None
        numbers = (model.C, model.intercept_, *model.coef_.reshape(-1).tolist())
        if model.coef_.ndim != 1 or not all(map(math.isfinite, numbers)) or model.C <= 0:
            raise BundleError("model: coef must be a list of finite numbers, C > 0 and finite")
        model.grad_norm_, model.message_ = math.nan, "loaded from a bundle"
        return model


def _check_xy(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X must be (n, d) with one label per row; got {X.shape}, {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValueError("y must be 0 (legitimate) or 1 (fraud)")
    if y.min() == y.max():
        raise ValueError("y holds a single class: need both frauds and legitimate rows")
    return X, y


def expit(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z) over an array, from exp(-|z|): no overflow for any z."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    p = 1.0 / (1.0 + e)
    np.multiply(p, e, out=p, where=z < 0.0)
    return p


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z) for one float, without overflow for any finite z."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class LinearScorer:
    """A fitted scaler + model folded into raw-feature weights, for serving.

    decision(x) = bias + sum_j weights_j x_j, with weights = coef / scale and
    bias = intercept - sum_j coef_j mean_j / scale_j. `proba_one` and `contributions` are
    plain Python (a NumPy call on one row costs more than the maths); `proba` is the
    vectorised twin for batches and agrees with `proba_one` to ~1e-15.
    """

    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    offsets: tuple[float, ...]  # coef_j mean_j / scale_j: contribution_j = w_j x_j - offset_j
    bias: float

    @classmethod
    def build(
        cls,
        coef: Sequence[float],
        intercept: float,
        mean: Sequence[float],
        scale: Sequence[float],
    ) -> LinearScorer:
        coef, mean, scale = (tuple(float(v) for v in a) for a in (coef, mean, scale))
        if not len(coef) == len(mean) == len(scale) or not all(s > 0 for s in scale):
            raise ValueError("coef, mean and scale must have equal length and scale > 0")
        weights = tuple(c / s for c, s in zip(coef, scale, strict=True))
        offsets = tuple(w * m for w, m in zip(weights, mean, strict=True))
        bias = float(intercept) - math.fsum(offsets)
        return cls(coef, float(intercept), mean, scale, weights, offsets, bias)

    @classmethod
    def from_model(cls, scaler: StandardScaler, model: LogisticRegression) -> LinearScorer:
        return cls.build(model.coef_, model.intercept_, scaler.mean_, scaler.scale_)

    @property
    def n_features(self) -> int:
        return len(self.weights)

    def decision_one(self, x: Sequence[float]) -> float:
        return self.bias + sum(map(mul, self.weights, x))

    def proba_one(self, x: Sequence[float]) -> float:
        """P(fraud) for one record of raw (unscaled) features."""
        return sigmoid(self.bias + sum(map(mul, self.weights, x)))

    predict_proba_one = proba_one

    def contributions(self, x: Sequence[float]) -> list[float]:
        """coef_j * (x_j - mean_j) / scale_j per feature; they sum to decision - intercept."""
        return [w * v - o for w, v, o in zip(self.weights, x, self.offsets, strict=True)]

    def contribution_matrix(self, X: np.ndarray) -> np.ndarray:
        """`contributions` of each row of X, shape (n, n_features), with the same operations."""
        return np.asarray(X, dtype=np.float64) * np.asarray(self.weights) - np.asarray(self.offsets)

    def decision(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ np.asarray(self.weights) + self.bias

    def proba(self, X: np.ndarray) -> np.ndarray:
        """P(fraud) per row of a raw feature matrix, shape (n,)."""
        return expit(self.decision(X))

    def to_dict(self) -> dict:
        """The unfolded parameters (what was fitted); folding is redone on load."""
        return {
            "kind": "logistic_regression",
            "coef": list(self.coef),
            "intercept": self.intercept,
            "scaler": {"mean": list(self.mean), "scale": list(self.scale)},
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> LinearScorer:
        try:
            if d.get("kind") != "logistic_regression":
                raise ValueError(f"unknown model kind {d.get('kind')!r}")
            scaler = d["scaler"]
            scorer = cls.build(d["coef"], d["intercept"], scaler["mean"], scaler["scale"])
        except (AttributeError, KeyError, OverflowError, TypeError, ValueError) as exc:
            raise BundleError(f"model: malformed model.json ({exc}); retrain") from None
        if not all(map(math.isfinite, (*scorer.weights, scorer.bias))):
            raise BundleError("model: non-finite weights in model.json; retrain")
        return scorer
