"""Logistic regression on binned features: one weight per bin of each feature (L2, L-BFGS).

The design is the sparse indicator matrix of `fraudcli.model.binning` (each row has one 1 per
feature). The objective is exactly scikit-learn's lbfgs objective on that matrix,

    sum_i w_i * logloss_i  +  ||theta||^2 / (2 C)          (intercept not penalised)

so scikit-learn's `LogisticRegression` on the same one-hot matrix finds the same weights. At
its optimum each feature's weights sum to zero (adding a constant to one feature's weights and
taking it from the intercept changes no prediction, only the penalty), so the fit runs in that
subspace, where L-BFGS converges in about half the iterations: weights are `u` minus the mean
of `u` over the feature's slots. A slot no row falls in (the missing slot of a feature never
missing) gets weight 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

DEFAULT_TOL = 1e-6


def binned_objective(
    params: np.ndarray, design: sp.csr_matrix, y: np.ndarray, weight: np.ndarray, C: float
) -> tuple[float, np.ndarray]:
    """The penalised loss and its gradient at `params` = (slot weights..., intercept)."""
    total = float(weight.sum())
    objective = _Objective(design, y, weight / total, 1.0 / (C * total))
    value, grad = objective(params)
    return value * total, grad * total


class _Objective:
    """The objective divided by sum(weight): gradients of order 1 whatever the row count, so
    `tol` means the same on a thousand rows as on a million. Buffers are allocated once: a
    fresh million-row temporary per operation costs more than the arithmetic."""

    def __init__(self, design: sp.csr_matrix, y: np.ndarray, w: np.ndarray, l2: float) -> None:
        self.design, self.design_t = design, design.T
        self.y, self.w, self.l2 = y, w, l2
        self.wy = w * y
        n = len(y)
        self.e, self.loss, self.p = np.empty(n), np.empty(n), np.empty(n)
        self.negative = np.empty(n, dtype=bool)

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = params[:-1], params[-1]
        z = self.design @ coef
        z += intercept
        e, loss, p = self.e, self.loss, self.p
        # log(1 + e^z) and 1 / (1 + e^-z) from one exp(-|z|): no overflow for any z
        np.abs(z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.log1p(e, out=loss)
        np.maximum(z, 0.0, out=p)
        loss += p
        np.add(e, 1.0, out=p)
        np.divide(1.0, p, out=p)
        np.less(z, 0.0, out=self.negative)
        np.multiply(p, e, out=p, where=self.negative)
        # logloss_i = log(1 + e^z_i) - y_i z_i. einsum, not BLAS: BLAS threads waking up on
        # every call made fits 10x slower on a busy machine
        value = float(np.einsum("i,i->", self.w, loss) - np.einsum("i,i->", self.wy, z))
        value += 0.5 * self.l2 * float(np.einsum("i,i->", coef, coef))
        p -= self.y
        p *= self.w  # the residual w_i (p_i - y_i)
        grad = np.empty_like(params)
        grad[:-1] = self.design_t @ p
        grad[:-1] += self.l2 * coef
        grad[-1] = p.sum()
        return value, grad


class BinnedLogisticRegression:
    """L2 logistic regression over the indicator design, scikit-learn conventions.

    After `fit`: `coef_` (one weight per slot, features one after the other), `intercept_`,
    `n_iter_`, `converged_`, `grad_norm_` (largest gradient component of the objective
    divided by the total weight) and `message_`. A fit that did not converge is not an error.
    """

    coef_: np.ndarray
    intercept_: float
    n_iter_: int
    converged_: bool
    grad_norm_: float
    message_: str

    def __init__(self, C: float = 1.0, tol: float = DEFAULT_TOL, max_iter: int = 1000) -> None:
        self.C, self.tol, self.max_iter = C, tol, max_iter

    def fit(
        self,
        design: sp.csr_matrix,
        y: np.ndarray,
        slots: Sequence[int],
        sample_weight: np.ndarray | None = None,
        warm_start: np.ndarray | None = None,
    ) -> BinnedLogisticRegression:
        """`slots`: the number of columns of each feature, in order; `warm_start`: (coef...,
        intercept) to start from, such as the fit at a neighbouring C."""
        y, weight = _check(design, y, slots, sample_weight, self.C)
        total = float(weight.sum())
        objective = _Objective(design, y, weight / total, 1.0 / (self.C * total))
        center = _Centering(slots)
        start = _start(design.shape[1], y, weight) if warm_start is None else warm_start
        from scipy.optimize import minimize  # only training needs it

        def in_subspace(u: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = objective(center.params(u))
            return value, center.params(grad)

        result = minimize(
            in_subspace,
            center.params(np.asarray(start, dtype=np.float64)),
            method="L-BFGS-B",
            jac=True,
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * np.finfo(float).eps},
        )
        params = center.params(result.x)
        self.coef_, self.intercept_ = params[:-1].copy(), float(params[-1])
        self.n_iter_, self.message_ = int(result.nit), str(result.message)
        self.grad_norm_ = float(np.max(np.abs(objective(params)[1])))
        self.converged_ = bool(result.status == 0 or self.grad_norm_ <= self.tol)
        return self

    @property
    def params_(self) -> np.ndarray:
        """(coef..., intercept): what `warm_start` takes."""
        return np.append(self.coef_, self.intercept_)

    def decision_function(self, design: sp.csr_matrix) -> np.ndarray:
        return design @ self.coef_ + self.intercept_


class _Centering:
    """(u..., b) -> (u minus the mean of u over each feature's slots..., b)."""

    def __init__(self, slots: Sequence[int]) -> None:
        self.slots = np.asarray(slots, dtype=np.int64)
        self.group = np.repeat(np.arange(len(self.slots)), self.slots)

    def params(self, params: np.ndarray) -> np.ndarray:
        coef = params[:-1]
        means = np.bincount(self.group, weights=coef, minlength=len(self.slots)) / self.slots
        return np.append(coef - means[self.group], params[-1])


def _start(n_columns: int, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """All weights 0 and the intercept at the base rate's log-odds: the best constant."""
    rate = float(np.clip(np.average(y, weights=weight), 1e-12, 1 - 1e-12))
    return np.append(np.zeros(n_columns), np.log(rate / (1.0 - rate)))


def _check(design, y, slots, sample_weight, C) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if design.shape[0] != len(y) or not len(y):
        raise ValueError(f"need one label per design row; got {design.shape[0]} and {len(y)}")
    if int(np.sum(slots)) != design.shape[1]:
        raise ValueError("slots must add up to the design's columns")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValueError("y must be 0 (legitimate) or 1 (fraud)")
    if y.min() == y.max():
        raise ValueError("y holds a single class: need both frauds and legitimate rows")
    if not C > 0:
        raise ValueError(f"C must be > 0, got {C}")
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    if weight.shape != y.shape or np.any(weight < 0) or not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight must be finite, non-negative, one per row")
    return y, weight
