"""Our logistic regression tested as maths: gradient, agreement with scikit-learn, the
one-record scorer against the batch path, and JSON round trips."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler as SkStandardScaler

from fraudcli.errors import BundleError
from fraudcli.model.logreg import (
    LinearScorer,
    LogisticRegression,
    logistic_objective,
    row_weights,
    sigmoid,
)
from fraudcli.model.scaler import StandardScaler

N_FEATURES = 20


def imbalanced_problem(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Raw features on very different scales, ~1% fraud driven by a few of them."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.1, 500.0, N_FEATURES)
    shift = rng.normal(0.0, 1000.0, N_FEATURES)
    Z = rng.normal(size=(n, N_FEATURES))
    beta = rng.normal(0.0, 1.0, N_FEATURES) * (rng.random(N_FEATURES) < 0.5)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(Z @ beta - 8.0)))).astype(np.int8)
    return Z * scale + shift, y


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, StandardScaler]:
    X, y = imbalanced_problem(20_000)
    scaler = StandardScaler().fit(X)
    return X, scaler.transform(X), y, scaler


def sklearn_fit(Xs, y, C, class_weight="balanced", sample_weight=None):
    sk = SkLogisticRegression(C=C, class_weight=class_weight, tol=1e-12, max_iter=100_000)
    return sk.fit(Xs, y, sample_weight=sample_weight)


def test_the_problem_is_imbalanced(problem):
    _, _, y, _ = problem
    assert 0.005 < y.mean() < 0.02


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6)) * 3.0
    y = (rng.random(300) < 0.2).astype(float)
    weight = row_weights(y, rng.uniform(0.5, 2.0, 300), "balanced")
    params = rng.normal(size=7)
    _, grad = logistic_objective(params, X, y, weight, C=0.3)
    h = 1e-6
    for j in range(len(params)):
        step = np.zeros_like(params)
        step[j] = h
        f_plus, _ = logistic_objective(params + step, X, y, weight, C=0.3)
        f_minus, _ = logistic_objective(params - step, X, y, weight, C=0.3)
        assert (f_plus - f_minus) / (2 * h) == pytest.approx(grad[j], rel=1e-6, abs=1e-6)


def test_objective_is_the_documented_formula():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 3))
    y = (rng.random(50) < 0.5).astype(float)
    weight = rng.uniform(0.1, 3.0, 50)
    params = np.array([0.5, -1.0, 2.0, 0.3])
    z = X @ params[:-1] + params[-1]
    logloss = np.log(1.0 + np.exp(z)) - y * z
    expected = weight @ logloss + params[:-1] @ params[:-1] / (2 * 0.7)
    value, _ = logistic_objective(params, X, y, weight, C=0.7)
    assert value == pytest.approx(expected, rel=1e-12)


def test_huge_margins_stay_finite_without_warnings():
    X = np.array([[1e6], [-1e6], [1e6], [-1e6]])
    y = np.array([1.0, 0.0, 0.0, 1.0])  # two confidently right, two confidently wrong
    value, grad = logistic_objective(np.array([1.0, 0.0]), X, y, np.ones(4), C=1.0)
    assert value == pytest.approx(2e6 + 0.5)
    assert np.all(np.isfinite(grad))
    assert sigmoid(1000.0) == 1.0 and sigmoid(-1000.0) == 0.0


@pytest.mark.parametrize("C", [0.05, 1.0])
def test_agrees_with_sklearn_balanced(problem, C):
    _, Xs, y, _ = problem
    ours = LogisticRegression(C=C).fit(Xs, y)
    sk = sklearn_fit(Xs, y, C)
    assert ours.converged_
    np.testing.assert_allclose(ours.coef_, sk.coef_[0], rtol=1e-3, atol=1e-5)
    assert ours.intercept_ == pytest.approx(sk.intercept_[0], rel=1e-3)
    our_auc = roc_auc_score(y, ours.predict_fraud_proba(Xs))
    assert abs(our_auc - roc_auc_score(y, sk.predict_proba(Xs)[:, 1])) < 0.001
    np.testing.assert_allclose(ours.predict_proba(Xs), sk.predict_proba(Xs), atol=1e-5)


def test_agrees_with_sklearn_with_sample_and_dict_weights(problem):
    _, Xs, y, _ = problem
    sw = np.random.default_rng(3).uniform(0.2, 5.0, len(y))
    for class_weight in ({0: 1.0, 1: 20.0}, "balanced", None):
        ours = LogisticRegression(C=0.5, class_weight=class_weight).fit(Xs, y, sample_weight=sw)
        sk = sklearn_fit(Xs, y, 0.5, class_weight, sample_weight=sw)
        np.testing.assert_allclose(ours.coef_, sk.coef_[0], rtol=1e-3, atol=1e-5)
        assert ours.intercept_ == pytest.approx(sk.intercept_[0], rel=1e-3)


def test_balanced_equals_explicit_weights(problem):
    _, Xs, y, _ = problem
    n, n_fraud = len(y), int(y.sum())
    balanced = LogisticRegression(C=0.5).fit(Xs, y)
    weights = {0: n / (2 * (n - n_fraud)), 1: n / (2 * n_fraud)}
    explicit = LogisticRegression(C=0.5, class_weight=weights).fit(Xs, y)
    np.testing.assert_allclose(balanced.coef_, explicit.coef_, rtol=1e-9)


def test_convergence_flag_is_honest(problem):
    _, Xs, y, _ = problem
    cut_short = LogisticRegression(max_iter=2).fit(Xs, y)
    assert not cut_short.converged_
    assert cut_short.n_iter_ <= 2
    assert cut_short.grad_norm_ > 1e-4
    full = LogisticRegression().fit(Xs, y)
    assert full.converged_ and full.grad_norm_ < 1e-6 and full.n_iter_ > 2


def test_fit_rejects_bad_input():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="single class"):
        LogisticRegression().fit(X, np.zeros(4))
    with pytest.raises(ValueError, match="0 .legitimate. or 1"):
        LogisticRegression().fit(X, np.array([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(np.full((4, 2), np.nan), np.array([0, 1, 0, 1]))


def test_scaler_matches_sklearn_and_handles_constant_columns():
    X, _ = imbalanced_problem(500)
    X[:, 3] = 7.0
    X[:, 4] = 1234.567  # its computed std is rounding noise, not zero
    ours = StandardScaler().fit(X)
    sk = SkStandardScaler().fit(X)
    np.testing.assert_allclose(ours.transform(X), sk.transform(X), atol=1e-12)
    assert ours.scale_[3] == 1.0 and np.all(ours.transform(X)[:, 3] == 0.0)
    assert ours.scale_[4] == 1.0 and np.all(np.abs(ours.transform(X)[:, 4]) < 1e-9)


@pytest.fixture(scope="module")
def fitted(problem) -> tuple[StandardScaler, LogisticRegression, LinearScorer]:
    X, Xs, y, scaler = problem
    model = LogisticRegression(C=0.5).fit(Xs, y)
    return scaler, model, LinearScorer.from_model(scaler, model)


def test_scorer_batch_equals_model_on_standardised_data(problem, fitted):
    X, Xs, _, _ = problem
    _, model, scorer = fitted
    np.testing.assert_allclose(scorer.proba(X), model.predict_fraud_proba(Xs), rtol=1e-9)


def test_scorer_one_record_equals_batch(problem, fitted):
    X, _, _, _ = problem
    _, _, scorer = fitted
    rows = X[:2000]
    one = np.array([scorer.proba_one(row) for row in rows.tolist()])
    np.testing.assert_allclose(one, scorer.proba(rows), rtol=0, atol=1e-12)
    assert scorer.predict_proba_one(rows[0].tolist()) == one[0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=N_FEATURES, max_size=N_FEATURES))
def test_one_record_equals_batch_on_random_rows(fitted, x):
    _, _, scorer = fitted
    assert abs(scorer.proba_one(x) - scorer.proba(np.array([x]))[0]) <= 1e-12


def test_contributions_explain_the_decision(problem, fitted):
    X, _, _, _ = problem
    scaler, model, scorer = fitted
    for row in X[:50]:
        contributions = scorer.contributions(row.tolist())
        expected = model.coef_ * (row - scaler.mean_) / scaler.scale_
        np.testing.assert_allclose(contributions, expected, rtol=1e-9, atol=1e-9)
        total = scorer.decision_one(row.tolist()) - model.intercept_
        assert math.fsum(contributions) == pytest.approx(total, abs=1e-9)


def test_scorer_json_round_trip(problem, fitted):
    X, _, _, _ = problem
    _, _, scorer = fitted
    text = json.dumps(scorer.to_dict(), allow_nan=False)
    again = LinearScorer.from_dict(json.loads(text))
    assert again == scorer
    assert np.array_equal(again.proba(X[:100]), scorer.proba(X[:100]))


def test_model_and_scaler_json_round_trip(problem, fitted):
    _, Xs, _, _ = problem
    scaler, model, _ = fitted
    model_again = LogisticRegression.from_dict(json.loads(json.dumps(model.to_dict())))
    assert np.array_equal(model_again.decision_function(Xs), model.decision_function(Xs))
    assert model_again.converged_ == model.converged_
    scaler_again = StandardScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert np.array_equal(scaler_again.transform(Xs), scaler.transform(Xs))


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"kind": "tree"},
        {"kind": "logistic_regression", "coef": [1.0], "intercept": 0.0},
        {
            "kind": "logistic_regression",
            "coef": [1.0],
            "intercept": 0.0,
            "scaler": {"mean": [0.0], "scale": [0.0]},
        },
        {
            "kind": "logistic_regression",
            "coef": [1.0, 2.0],
            "intercept": 0.0,
            "scaler": {"mean": [0.0], "scale": [1.0]},
        },
    ],
)
def test_malformed_model_is_a_bundle_error(bad):
    with pytest.raises(BundleError):
        LinearScorer.from_dict(bad)


@pytest.mark.slow
def test_fit_a_million_rows_in_a_few_seconds():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1_000_000, 30))
    y = (rng.random(1_000_000) < 1.0 / (1.0 + np.exp(5.0 - X[:, :5].sum(axis=1)))).astype(float)
    start = time.perf_counter()
    model = LogisticRegression().fit(X, y)
    assert model.converged_
    assert time.perf_counter() - start < 5.0
