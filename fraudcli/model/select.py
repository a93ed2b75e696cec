"""Fitting the binned model as `fraud train` does: the L2 strength chosen on the validation
slice from a small grid, then (optionally) a refit on every row whose label is known.

    bins     quantile edges of the training slice (`fraudcli.model.binning`), kept for the refit
    grid     C in GRID, strongest penalty first, each fit warm-started from the previous one;
             the C with the lowest validation log loss wins (a proper scoring rule: it rewards
             ranking and calibration together). On a large training slice the grid fits on
             every fraud and every k-th legitimate row weighted k (GRID_ROWS rows at most), which
             leaves the loss unbiased. The first model is finished on all training rows, or on
             the grid's rows when a refit on all labelled rows follows (it is then only judged
             on the validation slice, and the refit is what serves).
    refit    the same bins and C on all labelled rows, warm-started from the first model.

No class weights: with none, a logistic regression with an intercept predicts, on its
training rows, on average exactly the observed fraud rate, and its probabilities stay
probabilities (README "The model" has the measurements behind this choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudcli.model.binned import BinnedScorer
from fraudcli.model.binned_fit import BinnedLogisticRegression
from fraudcli.model.binning import (
    Edges,
    bin_codes,
    every_kth,
    indicator_design,
    learn_edges,
    n_slots,
    stride,
)

GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
GRID_ROWS = 200_000


@dataclass(frozen=True)
class GridPoint:
    C: float
    validation_log_loss: float
    n_iter: int


@dataclass(frozen=True)
class Fitted:
    """A fitted scorer, the C it was fitted with, and how it was chosen."""

    scorer: BinnedScorer
    C: float
    grid: tuple[GridPoint, ...]
    converged: bool
    n_iter: int
    params: np.ndarray  # (coef..., intercept), to warm-start another fit

    def to_dict(self) -> dict:
        return {
            "C": self.C,
            "chosen_by": "given" if not self.grid else "validation log loss",
            "grid": [vars(point) for point in self.grid],
            "n_iter": self.n_iter,
            "converged": self.converged,
        }


def fit_first(
    X: np.ndarray,
    y: np.ndarray,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    C: float | None,
    *,
    sample: bool = False,
) -> Fitted:
    """Bins and weights from the training rows; C from GRID on the validation rows unless given.

    `sample`: fit on the grid's rows (every fraud, every k-th legitimate row weighted k) even
    when C is given, as when a refit on all rows follows and this model only has to be judged.
    """
    edges = learn_edges(X)
    design, slots = _design(X, edges)
    rows, weight = _grid_rows(y)
    subset = design if weight is None else design[rows]
    grid: list[GridPoint] = []
    start = None
    if C is None:
        C, start = _choose_C(
            subset, y[rows], weight, slots, _design(X_valid, edges)[0], y_valid, grid
        )
    if sample:
        return fit_design(subset, y[rows], slots, edges, C, start, tuple(grid), weight)
    return fit_design(design, y, slots, edges, C, start, tuple(grid))


def refit(X: np.ndarray, y: np.ndarray, first: Fitted) -> Fitted:
    """The first model's bins and C on other rows (all the labelled ones), warm-started."""
    edges = first.scorer.edges
    design, slots = _design(X, edges)
    return fit_design(design, y, slots, edges, first.C, first.params, first.grid)


def log_loss(y: np.ndarray, decision: np.ndarray) -> float:
    """Mean log loss from decision values, without overflow: log(1 + e^z) - y z."""
    return float(np.mean(np.logaddexp(0.0, decision) - y * decision))


def _design(X: np.ndarray, edges: Edges):
    slots = n_slots(edges)
    return indicator_design(bin_codes(X, edges), slots), slots


def _choose_C(design, y, weight, slots, valid_design, y_valid, grid: list[GridPoint]):
    def fit_at(C: float, start):
        return BinnedLogisticRegression(C=C).fit(design, y, slots, weight, start)

    def validation_loss(model: BinnedLogisticRegression) -> float:
        return log_loss(y_valid, model.decision_function(valid_design))

    return choose_C(fit_at, validation_loss, grid)


def choose_C(fit_at, validation_loss, grid: list[GridPoint]) -> tuple[float, np.ndarray]:
    """The C of GRID with the lowest validation log loss, and its parameters: strongest
    penalty first, each fit (`fit_at(C, start)`) warm-started from the one before, stopping
    after two worse. The one loop of both engines (the Dask engine's fits and losses are sums
    over partitions); `grid` gets every point tried."""
    best, start = None, None
    for C in GRID:
        model = fit_at(C, start)
        start = model.params_
        loss = validation_loss(model)
        grid.append(GridPoint(C, loss, model.n_iter_))
        if best is None or loss < best[1]:
            best = (C, loss, start)
        elif len(grid) - [p.C for p in grid].index(best[0]) > 2:
            break  # worse twice in a row: the loss is past its minimum
    return best[0], best[2]


def _grid_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Every fraud and every k-th legitimate row (weight k), at most GRID_ROWS legitimate."""
    k = grid_stride(int((y == 0).sum()))
    if k <= 1:
        return np.arange(len(y)), None
    rows = np.flatnonzero(grid_mask(y, k))
    return rows, np.where(y[rows] == 1, 1.0, float(k))


def grid_stride(n_legit: int) -> int:
    """k of the grid's rows: every fraud and every k-th legitimate row (in input order)."""
    return stride(n_legit, GRID_ROWS)


def grid_mask(y: np.ndarray, k: int, legit_before: int = 0) -> np.ndarray:
    """The grid's rows among rows `y` (after `legit_before` legitimate rows of earlier
    blocks): every fraud, and every k-th legitimate row counted from the first."""
    return (y == 1) | every_kth(y == 0, k, legit_before)


def fit_design(design, y, slots, edges: Edges, C: float, start, grid, weight=None) -> Fitted:
    """A fit at C on a ready indicator design (`start`: params to warm-start from)."""
    model = BinnedLogisticRegression(C=C).fit(design, y, slots, weight, start)
    rows = np.ones(design.shape[0]) if weight is None else weight  # a sample counts k times
    return fitted_from(model, design.T @ rows, slots, edges, C, grid)


def fitted_from(model, counts, slots, edges: Edges, C: float, grid) -> Fitted:
    """The `Fitted` of a fitted model, `counts` the (weighted) training rows of each slot."""
    counts = np.rint(counts).astype(np.int64)
    bounds = np.concatenate([[0], np.cumsum(slots)])
    pieces = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    info = {"C": C, "n_iter": model.n_iter_, "converged": model.converged_}
    scorer = BinnedScorer.build(
        edges,
        [model.coef_[piece] for piece in pieces],
        [counts[piece] for piece in pieces],
        model.intercept_,
        info,
    )
    return Fitted(scorer, C, grid, model.converged_, model.n_iter_, model.params_)
