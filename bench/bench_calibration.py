"""Three ways to get probabilities, measured on a later period (README "The model").

On the world and periods of `bench_model` (train on 60 days, judge the next 60), with the same
bins and the same C grid:

    (a) no class weights                                        what `fraud train` does
    (b) balanced class weights, intercept moved back by log(n_legit / n_fraud)
    (c) (a)'s first model, then a calibrator fitted on the validation slice: Platt (a logistic
        regression on the log-odds) or isotonic (scikit-learn's, a dev dependency)

(a) and (b) are shown before and after the refit on every labelled row; a calibrator of (c) is
fitted to the first model's validation scores, so there is no refit to show for it.
"""

from __future__ import annotations

import numpy as np

from bench.bench_model import period_features
from bench.common import figure


def run() -> None:
    table, later = period_features()
    parts = _slices(table, later)
    X, y = table.X, table.y.astype(np.float64)
    a_first, a_refit = _binned(X, y, parts, balanced=False)
    b_first, b_refit = _binned(X, y, parts, balanced=True)
    valid_p = a_first.proba(X[parts["valid"]])
    late = X[later]
    rows = [
        ("(a) no class weights, first model", a_first.proba(late)),
        ("(a) no class weights, refit", a_refit.proba(late)),
        ("(b) balanced + prior correction, first", _shifted(b_first, late, y[parts["train"]])),
        ("(b) balanced + prior correction, refit", _shifted(b_refit, late, y[parts["known"]])),
        ("(c) (a) first + Platt on validation", _platt(valid_p, y[parts["valid"]], a_first, late)),
        (
            "(c) (a) first + isotonic on validation",
            _isotonic(valid_p, y[parts["valid"]], a_first, late),
        ),
    ]
    for name, p in rows:
        _report(name, y[later], p)


def _slices(table, later) -> dict[str, np.ndarray]:
    from fraudcli.commands.train import time_split

    past = np.flatnonzero(~later)
    train, valid = time_split(table.ts[past], 0.2, 7 * 86400.0)
    known = table.ts[past] <= table.ts[past].max() - 7 * 86400.0
    return {"train": past[train], "valid": past[valid], "known": past[known]}


def _binned(X, y, parts, balanced: bool):
    """First model (C from the grid by validation log loss, after the prior correction for
    (b)) and its refit, as `fraudcli.model.select` does them."""
    from fraudcli.model.binned_fit import BinnedLogisticRegression
    from fraudcli.model.binning import bin_codes, indicator_design, learn_edges, n_slots
    from fraudcli.model.select import GRID, fit_design, log_loss

    train, valid, known = parts["train"], parts["valid"], parts["known"]
    edges = learn_edges(X[train])
    slots = n_slots(edges)

    def design(rows):
        return indicator_design(bin_codes(X[rows], edges), slots)

    def weights(rows):
        if not balanced:
            return None
        n_fraud = y[rows].sum()
        n_legit = len(rows) - n_fraud
        return np.where(y[rows] == 1, len(rows) / (2 * n_fraud), len(rows) / (2 * n_legit))

    train_design, valid_design = design(train), design(valid)
    shift = _prior_shift(y[train]) if balanced else 0.0
    best, start = None, None
    for C in GRID:
        model = BinnedLogisticRegression(C=C).fit(
            train_design, y[train], slots, weights(train), start
        )
        start = model.params_
        loss = log_loss(y[valid], model.decision_function(valid_design) + shift)
        if best is None or loss < best[0]:
            best = (loss, C, start)
    first = fit_design(train_design, y[train], slots, edges, best[1], best[2], (), weights(train))
    again = fit_design(
        design(known), y[known], slots, edges, best[1], first.params, (), weights(known)
    )
    return first.scorer, again.scorer


def _prior_shift(y: np.ndarray) -> float:
    """Balanced weights multiply the odds by n_legit / n_fraud: the log of it, taken back."""
    return -float(np.log((len(y) - y.sum()) / y.sum()))


def _shifted(scorer, X, y_fit) -> np.ndarray:
    from fraudcli.model.logreg import expit

    return expit(scorer.decision(X) + _prior_shift(y_fit))


def _platt(valid_p, y_valid, scorer, X) -> np.ndarray:
    from fraudcli.model.logreg import LogisticRegression, expit

    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    platt = LogisticRegression(C=1e6, class_weight=None).fit(logit(valid_p)[:, None], y_valid)
    return expit(platt.coef_[0] * scorer.decision(X) + platt.intercept_)


def _isotonic(valid_p, y_valid, scorer, X) -> np.ndarray:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(valid_p, y_valid)
    return iso.predict(scorer.proba(X))


def _report(name: str, y: np.ndarray, p: np.ndarray) -> None:
    from fraudcli.model.calibration import brier, constant_brier, expected_calibration_error
    from fraudcli.model.metrics import average_precision, roc_auc

    ratio = brier(y, p) / constant_brier(y)
    figure(name, "")
    figure("    AUC / AP", f"{roc_auc(y, p):.4f} / {average_precision(y, p):.4f}")
    figure("    Brier / constant's, ECE", f"{ratio:.3f}, {expected_calibration_error(y, p):.5f}")
    figure("    mean fraud_probability / rate", f"{p.mean() / y.mean():.3f}")
