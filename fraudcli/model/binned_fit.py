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
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

DEFAULT_TOL = 1e-5  # scikit-learn's lbfgs stops at 1e-4; on a million rows 1e-6 took 85
# iterations where 1e-5 took 20, for an average precision 0.0003 apart
EPS = float(np.finfo(float).eps)
THREAD_ROWS = 200_000  # from this many rows on, the objective runs on two threads
BLOCK_ROWS = 1 << 16  # rows per block of the objective's sums (see `_Objective`)
MAX_BLOCKS = 1024


def binned_objective(
    params: np.ndarray, design: sp.csr_matrix, y: np.ndarray, weight: np.ndarray, C: float
) -> tuple[float, np.ndarray]:
    """The penalised loss and its gradient at `params` = (slot weights..., intercept)."""
    total = float(weight.sum())
    objective = _Objective(design, y, weight / total, 1.0 / (C * total))
    try:
        value, grad = objective(params)
    finally:
        objective.close()
    return value * total, grad * total


class _Objective:
    """The objective divided by sum(weight): gradients of order 1 whatever the row count, so
    `tol` means the same on a thousand rows as on a million.

    Rows are summed in blocks of `block_rows(n)` (in row order), each block's sums made alone
    and then the blocks' added in order: the same numbers however the rows are held, so the
    Dask engine, whose partitions hold whole blocks, adds exactly what this adds, and the fit
    follows the same path to the same optimum. A large design's blocks are evaluated on two
    threads (the sparse products and NumPy's loops release the GIL), still added in order."""

    def __init__(self, design: sp.csr_matrix, y: np.ndarray, w: np.ndarray, l2: float) -> None:
        self.parts = block_terms(design, y, w, block_rows(len(y)))
        self.l2 = l2
        threads = len(y) >= THREAD_ROWS and len(self.parts) > 1
        self._pool = ThreadPoolExecutor(2) if threads else None

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = params[:-1], params[-1]
        if self._pool is None:
            results = [part(coef, intercept) for part in self.parts]
        else:
            results = list(self._pool.map(lambda part: part(coef, intercept), self.parts))
        return penalised(params, self.l2, results)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def block_rows(n: int) -> int:
    """Rows per block of the objective's sums over n rows: BLOCK_ROWS, or more for more than
    MAX_BLOCKS blocks (the same for every engine: it depends on n alone)."""
    return max(BLOCK_ROWS, -(-n // MAX_BLOCKS))


def block_terms(design: sp.csr_matrix, y: np.ndarray, w: np.ndarray, size: int) -> list[Rows]:
    """`Rows` of each block of `size` rows, in order (the last may be shorter)."""
    n = len(y)
    return [Rows(design, y, w, a, min(a + size, n)) for a in range(0, n, size)]


def penalised(params: np.ndarray, l2: float, results) -> tuple[float, np.ndarray]:
    """The objective per unit of row weight: the penalty plus each part's (loss, gradient,
    intercept gradient) of `Rows.__call__`, added in the order given (so the same parts give
    the same sums: threads here, a cluster's partitions on the Dask engine)."""
    coef = params[:-1]
    grad = np.empty_like(params)
    grad[:-1] = l2 * coef
    value = 0.5 * l2 * float(np.einsum("i,i->", coef, coef))
    grad[-1] = 0.0
    for part_value, part_grad, part_sum in results:
        value += part_value
        grad[:-1] += part_grad
        grad[-1] += part_sum
    return value, grad


class Rows:
    """The loss and its gradient over rows [a, b): buffers allocated once (a fresh
    million-row temporary per operation costs more than the arithmetic). `w` is each row's
    weight divided by the total weight of all rows fitted (of every part)."""

    def __init__(self, design: sp.csr_matrix, y: np.ndarray, w: np.ndarray, a: int, b: int):
        self.design = _row_range(design, a, b)
        self.design_t = self.design.T
        # arrays of their own: a reduction's result must not depend on where a slice starts
        self.y, self.w = y[a:b].copy(), w[a:b].copy()
        self.wy = self.w * self.y
        n = b - a
        self.e, self.loss, self.p = np.empty(n), np.empty(n), np.empty(n)
        self.negative = np.empty(n, dtype=bool)

    def __call__(self, coef: np.ndarray, intercept: float) -> tuple[float, np.ndarray, float]:
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
        p -= self.y
        p *= self.w  # the residual w_i (p_i - y_i)
        return value, self.design_t @ p, float(p.sum())


def _row_range(design: sp.csr_matrix, a: int, b: int) -> sp.csr_matrix:
    """Rows [a, b) of a CSR matrix, sharing its arrays (a slice would copy them)."""
    if a == 0 and b == design.shape[0]:
        return design
    start, stop = design.indptr[a], design.indptr[b]
    indptr = design.indptr[a : b + 1] - start
    parts = (design.data[start:stop], design.indices[start:stop], indptr)
    return sp.csr_matrix(parts, shape=(b - a, design.shape[1]), copy=False)


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
        start = _start(design.shape[1], y, weight) if warm_start is None else warm_start
        return self.fit_objective(objective, slots, start)

    def fit_objective(self, objective, slots: Sequence[int], start: np.ndarray):
        """L-BFGS on an objective with `_Objective`'s contract: `objective(params)` is the
        penalised loss and its gradient divided by the total row weight (1 / (C * total) its
        L2 factor, see `penalised`), `objective.close()` frees it. `fit` builds one over a
        design here; the Dask engine's sums its partitions' `Rows` (each worker returns its
        partial sums for the parameters; L-BFGS runs here, as dask-glm does)."""
        center = _Centering(slots)
        from scipy.optimize import minimize  # only training needs it

        def in_subspace(u: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = objective(center.params(u))
            return value, center.params(grad)

        try:
            result = minimize(
                in_subspace,
                center.params(np.asarray(start, dtype=np.float64)),
                method="L-BFGS-B",
                jac=True,
                options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * EPS},
            )
            params = center.params(result.x)
            self.grad_norm_ = float(np.max(np.abs(objective(params)[1])))
        finally:
            objective.close()
        self.coef_, self.intercept_ = params[:-1].copy(), float(params[-1])
        self.n_iter_, self.message_ = int(result.nit), str(result.message)
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
    return start_params(n_columns, float(np.average(y, weights=weight)))


def start_params(n_columns: int, rate: float) -> np.ndarray:
    """All weights 0 and the intercept at the base rate's log-odds: the best constant."""
    rate = float(np.clip(rate, 1e-12, 1 - 1e-12))
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
