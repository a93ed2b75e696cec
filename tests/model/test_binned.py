"""The binned model tested as maths: bins (edges, unseen extremes, missing values), the
gradient, agreement with scikit-learn on the one-hot design, known probabilities recovered,
and the one-record scorer against the vectorised one."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.metrics import roc_auc_score

from fraudcli.errors import BundleError
from fraudcli.model.binned import BinnedScorer
from fraudcli.model.binned_fit import BinnedLogisticRegression, binned_objective
from fraudcli.model.binning import (
    COUNTING_ROWS,
    LEVELS,
    bin_codes,
    indicator_design,
    learn_edges,
    n_slots,
)
from fraudcli.model.calibration import brier, constant_brier, expected_calibration_error
from fraudcli.model.scorer import load_scorer
from fraudcli.model.select import GridPoint, fit_first, refit


def steps_problem(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four features whose effect is a step, a bump and a flag; the true P(fraud) known."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.lognormal(3.0, 1.0, n),  # fraud jumps above 60
            rng.poisson(2.0, n).astype(float),  # ... and with bursts of 5+
            (rng.random(n) < 0.3).astype(float),  # a flag
            rng.normal(size=n),  # a bump, not monotone
        ]
    )
    z = -5.0 + 2.5 * (X[:, 0] > 60) + 0.8 * (X[:, 1] >= 5) + X[:, 2] + np.sin(3 * X[:, 3])
    p = 1.0 / (1.0 + np.exp(-z))
    return X, (rng.random(n) < p).astype(float), p


@pytest.fixture(scope="module")
def problem():
    X, y, p = steps_problem(20_000)
    edges = learn_edges(X)
    slots = n_slots(edges)
    return X, y, p, edges, slots, indicator_design(bin_codes(X, edges), slots)


def scorer_of(model: BinnedLogisticRegression, design, edges, slots) -> BinnedScorer:
    counts = np.asarray(design.sum(axis=0)).reshape(-1).astype(int)
    cuts = np.cumsum(slots)[:-1]
    weights, counts = np.split(model.coef_, cuts), np.split(counts, cuts)
    return BinnedScorer.build(edges, weights, counts, model.intercept_)


@pytest.fixture(scope="module")
def fitted(problem):
    X, y, _, edges, slots, design = problem
    model = BinnedLogisticRegression(C=0.5, tol=1e-9).fit(design, y, slots)
    return model, scorer_of(model, design, edges, slots)


# --- bins --------------------------------------------------------------------------------------


def test_edges_are_quantiles_of_every_kth_row():
    values = np.arange(1000, dtype=np.float64).reshape(-1, 1)
    (edges,) = learn_edges(values, levels=(0.25, 0.5, 0.75), sample_rows=100)
    # every 10th row: 0, 10, ... 990; inverted-CDF quantiles of those 100 values (240, 490,
    # 740), each edge halfway to the next value of the sample
    assert edges == (245.0, 495.0, 745.0)
    assert learn_edges(values, levels=(0.25, 0.5, 0.75), sample_rows=100) == ((edges),)
    shuffled = np.random.default_rng(0).permutation(values)  # another order, another sample
    assert learn_edges(shuffled, levels=(0.5,), sample_rows=1000) == ((499.5,),)


def test_edges_merge_repeats_and_never_take_the_maximum():
    counts = np.array([0.0] * 90 + [1.0] * 5 + [2.0] * 4 + [7.0]).reshape(-1, 1)
    (edges,) = learn_edges(counts)
    assert edges == (0.5, 1.5, 4.5)  # 27 levels, three distinct values below the maximum
    codes = bin_codes(counts, (edges,))[0]
    assert np.bincount(codes).tolist() == [90, 5, 4, 1]  # every bin holds training rows
    (flag,) = learn_edges(np.array([[0.0], [1.0], [1.0]]))
    assert flag == (0.5,) and bin_codes(np.array([[0.0], [1.0]]), (flag,)).tolist() == [[0, 1]]
    # a value a rounding error from a sample value stays in that value's bin
    nudged = np.array([[1.0 + 1e-10], [1.0 - 1e-10], [2.0 + 1e-10]])
    assert bin_codes(nudged, (edges,))[0].tolist() == [1, 1, 2]
    assert learn_edges(np.full((50, 1), 3.0)) == ((),)  # a constant: one bin
    assert 0.03 in LEVELS and 1 - 0.03 in LEVELS and min(LEVELS) < 0.001 < 0.999 < max(LEVELS)


def test_a_column_binned_like_an_earlier_one_gets_one_bin():
    amount = np.random.default_rng(0).lognormal(3.0, 1.0, (5_000, 1))
    edges = learn_edges(np.column_stack([amount, np.log1p(amount), np.sqrt(amount) + 1]))
    assert len(edges[0]) > 20 and edges[1] == () and edges[2] == ()
    assert learn_edges(np.column_stack([amount, -amount]))[1] != ()  # reversed: other bins


def test_values_beyond_the_edges_land_in_the_outermost_bins(fitted, problem):
    X, *_ = problem
    _, scorer = fitted
    low, high = X.min(axis=0), X.max(axis=0)
    for extreme, seen in ((high * 1e6 + 1e6, high), (low - 1e6, low), (np.full(4, math.inf), high)):
        assert scorer.proba_one(extreme.tolist()) == scorer.proba_one(seen.tolist())
    assert scorer.proba_one([-math.inf] * 4) == scorer.proba_one(low.tolist())


def test_missing_values_have_a_slot_of_their_own(fitted, problem):
    X, *_ = problem
    _, scorer = fitted
    row = X[7].tolist()
    gap = [row[0], math.nan, row[2], row[3]]
    assert scorer.slots_one(gap)[1] == len(scorer.edges[1]) + 1
    # never missing in training: a missing value moves nothing away from the average
    assert scorer.contributions(gap)[1] == 0.0
    assert scorer.decision_one(gap) - scorer.decision_one(row) == pytest.approx(
        -scorer.contributions(row)[1], abs=1e-12
    )
    batch = np.array([gap, row, [math.nan] * 4])
    one = [scorer.proba_one(r) for r in batch.tolist()]
    assert np.abs(scorer.proba(batch) - one).max() <= 1e-15


def test_a_missing_value_seen_in_training_is_learnt():
    X, y, _ = steps_problem(20_000, seed=3)
    hole = np.flatnonzero(y == 1)[::2]  # half the frauds lack feature 3...
    X[hole, 3] = np.nan
    edges = learn_edges(X)
    slots = n_slots(edges)
    design = indicator_design(bin_codes(X, edges), slots)
    model = BinnedLogisticRegression(C=1.0).fit(design, y, slots)
    scorer = scorer_of(model, design, edges, slots)
    assert scorer.counts[3][-1] == len(hole)
    assert scorer.contributions([10.0, 1.0, 0.0, math.nan])[3] > 2.0  # ...so missing is fraud


# --- the fit as maths ------------------------------------------------------------------------


def test_gradient_matches_finite_differences(problem):
    X, y, _, edges, slots, design = problem
    rng = np.random.default_rng(1)
    params = rng.normal(size=design.shape[1] + 1) * 0.3
    weight = rng.uniform(0.5, 2.0, len(y))
    _, grad = binned_objective(params, design, y, weight, C=0.3)
    h = 1e-6
    for j in range(0, len(params), 5):
        step = np.zeros_like(params)
        step[j] = h
        plus, _ = binned_objective(params + step, design, y, weight, C=0.3)
        minus, _ = binned_objective(params - step, design, y, weight, C=0.3)
        assert (plus - minus) / (2 * h) == pytest.approx(grad[j], rel=1e-5, abs=1e-5)


def test_objective_is_the_documented_formula(problem):
    _, y, _, _, _, design = problem
    params = np.random.default_rng(2).normal(size=design.shape[1] + 1)
    z = design @ params[:-1] + params[-1]
    expected = np.sum(np.logaddexp(0.0, z) - y * z) + params[:-1] @ params[:-1] / (2 * 0.7)
    assert binned_objective(params, design, y, np.ones(len(y)), C=0.7)[0] == pytest.approx(
        expected, rel=1e-12
    )


@pytest.mark.parametrize("C", [0.05, 1.0])
def test_agrees_with_sklearn_on_the_one_hot_design(problem, C):
    _, y, _, _, slots, design = problem
    ours = BinnedLogisticRegression(C=C, tol=1e-10).fit(design, y, slots)
    dense = design.toarray()  # only here: the fit itself never makes the dense matrix
    sk = SkLogisticRegression(C=C, tol=1e-12, max_iter=100_000).fit(dense, y)
    assert ours.converged_
    np.testing.assert_allclose(ours.coef_, sk.coef_[0], rtol=1e-3, atol=1e-4)
    assert ours.intercept_ == pytest.approx(sk.intercept_[0], rel=1e-3)
    our_auc = roc_auc_score(y, ours.decision_function(design))
    assert abs(our_auc - roc_auc_score(y, sk.decision_function(dense))) < 0.001


def test_each_features_weights_sum_to_zero_and_an_empty_slot_stays_zero(fitted, problem):
    *_, slots, _ = problem
    model, _ = fitted
    for weights in np.split(model.coef_, np.cumsum(slots)[:-1]):
        assert abs(weights.sum()) < 1e-12  # by construction: the fit runs in that subspace
        assert abs(weights[-1]) < 1e-5  # no row is ever missing: only the penalty pulls on it


def test_warm_start_reaches_the_same_optimum_in_fewer_iterations(problem):
    _, y, _, _, slots, design = problem
    near = BinnedLogisticRegression(C=0.3, tol=1e-9).fit(design, y, slots)
    cold = BinnedLogisticRegression(C=1.0, tol=1e-9).fit(design, y, slots)
    warm = BinnedLogisticRegression(C=1.0, tol=1e-9).fit(design, y, slots, warm_start=near.params_)
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-4)
    assert warm.n_iter_ < cold.n_iter_


def test_known_probabilities_are_recovered():
    """Calibration on a synthetic case with a known probability: each feature takes a few
    values, one bin each, and the true log-odds add up over them, so the model can hold the
    truth exactly and must find it."""
    rng = np.random.default_rng(5)
    n = 300_000
    X = np.column_stack([rng.integers(0, 5, n), rng.integers(0, 2, n), rng.integers(0, 3, n)])
    effect = [np.array([0.0, 0.3, 0.9, 1.6, 2.4]), np.array([0.0, 1.2]), np.array([0.5, 0.0, -0.8])]
    truth = 1 / (1 + np.exp(-(-4.5 + sum(e[X[:, j]] for j, e in enumerate(effect)))))
    y = (rng.random(n) < truth).astype(float)
    X = X.astype(float)
    edges = learn_edges(X)
    assert [len(e) for e in edges] == [4, 1, 2]  # one bin per value
    slots = n_slots(edges)
    design = indicator_design(bin_codes(X, edges), slots)
    model = BinnedLogisticRegression(C=100.0).fit(design, y, slots)
    scorer = scorer_of(model, design, edges, slots)
    predicted = scorer.proba(X)
    # the intercept is not penalised: on its training rows the mean prediction is the rate
    assert predicted.mean() == pytest.approx(y.mean(), abs=1e-6)
    cells = np.unique(X, axis=0)
    guess = scorer.proba(cells)
    want = 1 / (1 + np.exp(-(-4.5 + sum(e[cells[:, j].astype(int)] for j, e in enumerate(effect)))))
    assert np.abs(np.log(guess / want)).max() < 0.12  # within 12% of the truth in every cell
    fresh = (rng.random(n) < truth).astype(float)
    assert brier(fresh, predicted) < constant_brier(fresh)
    assert expected_calibration_error(fresh, predicted) < 0.002


# --- the scorer -------------------------------------------------------------------------------


def test_one_record_equals_vectorised_on_both_batch_paths(fitted, problem):
    X, *_ = problem
    _, scorer = fitted
    for rows in (X[:50], X[: 3 * COUNTING_ROWS]):  # binary search, and counting
        one = np.array([scorer.proba_one(r) for r in rows.tolist()])
        assert np.abs(one - scorer.proba(rows)).max() <= 1e-12
        decisions = np.array([scorer.decision_one(r) for r in rows.tolist()])
        assert np.array_equal(decisions, scorer.decision(rows))  # the same sums, bit for bit
        contributions = np.array([scorer.contributions(r) for r in rows.tolist()])
        assert np.array_equal(contributions, scorer.contribution_matrix(rows))


values = st.one_of(
    st.floats(-1e9, 1e9), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 60.0, 5.0])
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(values, min_size=4, max_size=4), min_size=1, max_size=30))
def test_one_record_equals_vectorised_on_random_rows(fitted, rows):
    _, scorer = fitted
    batch = np.array(rows, dtype=np.float64)
    one = [scorer.proba_one(r) for r in rows]
    assert np.abs(scorer.proba(batch) - one).max() <= 1e-12


def test_contributions_explain_the_decision(fitted, problem):
    X, *_ = problem
    _, scorer = fitted
    for row in X[:50].tolist():
        assert math.fsum(scorer.contributions(row)) == pytest.approx(
            scorer.decision_one(row) - scorer.base, abs=1e-9
        )
    rich = [500.0, 9.0, 1.0, 0.5]  # above the amount step, a burst, the flag
    top = max(range(4), key=lambda j: scorer.contributions(rich)[j])
    assert top == 0 and scorer.contributions(rich)[0] > 1.0


def test_json_round_trip_and_bad_models(fitted, problem):
    X, *_ = problem
    _, scorer = fitted
    text = json.dumps(scorer.to_dict(), allow_nan=False)
    again = load_scorer(json.loads(text))
    assert again == scorer and np.array_equal(again.proba(X[:100]), scorer.proba(X[:100]))
    good = scorer.to_dict()
    bad_models = [
        {},
        good | {"kind": "tree"},
        good | {"edges": good["edges"][:-1]},
        good | {"weights": [w[:-1] for w in good["weights"]]},
        good | {"edges": [sorted(e, reverse=True) for e in good["edges"]]},
        good | {"intercept": "x"},
    ]
    for bad in bad_models:
        with pytest.raises(BundleError):
            load_scorer(bad)
    with pytest.raises(BundleError, match="non-finite"):
        load_scorer(good | {"intercept": float("inf")})


# --- choosing C and refitting -------------------------------------------------------------------


def test_C_is_chosen_on_validation_and_the_refit_starts_from_the_first_model():
    X, y, _ = steps_problem(30_000, seed=4)
    first = fit_first(X[:20_000], y[:20_000], X[20_000:], y[20_000:], None)
    losses = [point.validation_log_loss for point in first.grid]
    assert all(isinstance(point, GridPoint) for point in first.grid) and len(losses) >= 3
    assert first.C == first.grid[int(np.argmin(losses))].C
    again = refit(X, y, first)
    assert again.scorer.edges == first.scorer.edges and again.C == first.C
    assert sum(again.scorer.counts[0]) == 30_000
    given = fit_first(X[:20_000], y[:20_000], X[20_000:], y[20_000:], 0.2)
    assert given.C == 0.2 and given.grid == () and given.to_dict()["chosen_by"] == "given"
