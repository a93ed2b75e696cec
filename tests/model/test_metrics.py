"""Metrics against scikit-learn and hand-computed examples; the threshold policy on cases
whose answer is known."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from fraudcli.model.metrics import (
    Metrics,
    amount_caught_share,
    average_precision,
    choose_thresholds,
    evaluate,
    precision_recall_at,
    roc_auc,
    top_k_precision_per_day,
)


def random_scores(seed: int, n: int = 5000, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.03).astype(np.int8)
    score = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 2.0 * y - 3.0)))
    if decimals is not None:  # coarse scores: many ties, across both classes
        score = np.round(score, decimals)
    return y, score


@pytest.mark.parametrize(("seed", "decimals"), [(0, None), (1, 2), (2, 1), (3, 0)])
def test_auc_and_average_precision_match_sklearn(seed, decimals):
    y, score = random_scores(seed, decimals=decimals)
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert average_precision(y, score) == pytest.approx(
        average_precision_score(y, score), abs=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=2, max_size=40).filter(
        lambda rows: 0 < sum(label for label, _ in rows) < len(rows)
    )
)
def test_auc_and_average_precision_match_sklearn_on_small_tied_samples(rows):
    y = np.array([label for label, _ in rows])
    score = np.array([s / 5.0 for _, s in rows])
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert average_precision(y, score) == pytest.approx(
        average_precision_score(y, score), abs=1e-12
    )


def test_one_class_gives_nan_without_warnings():
    score = np.array([0.1, 0.5, 0.9])
    assert math.isnan(roc_auc(np.zeros(3), score))
    assert math.isnan(roc_auc(np.ones(3), score))
    assert math.isnan(average_precision(np.zeros(3), score))
    assert average_precision(np.ones(3), score) == 1.0
    precision, recall, flagged = precision_recall_at(np.zeros(3), score, 0.95)
    assert math.isnan(precision) and math.isnan(recall) and flagged == 0


def test_precision_recall_at_threshold_counts_equal_scores():
    y = np.array([1, 0, 1, 0, 1, 0])
    score = np.array([0.9, 0.8, 0.5, 0.5, 0.2, 0.1])
    assert precision_recall_at(y, score, 0.5) == (pytest.approx(2 / 4), pytest.approx(2 / 3), 4)
    assert precision_recall_at(y, score, 0.85) == (1.0, pytest.approx(1 / 3), 1)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="equal length"):
        roc_auc(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="NaN"):
        roc_auc(np.array([0, 1]), np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="0 .legitimate. or 1"):
        roc_auc(np.array([0, 2]), np.array([0.1, 0.2]))


def test_top_k_precision_per_day_by_hand():
    day = np.array([0, 0, 0, 0, 1, 1, 1])
    score = np.array([0.9, 0.1, 0.8, 0.7, 0.3, 0.6, 0.2])
    y = np.array([1, 1, 0, 1, 0, 1, 0])
    # day 0 top 2: 0.9 (fraud), 0.8 (legit); day 1 top 2: 0.6 (fraud), 0.3 (legit)
    assert top_k_precision_per_day(y, score, day, 2) == pytest.approx(2 / 4)
    # k above a day's size takes the whole day: 3 frauds in 4 + 1 in 3
    assert top_k_precision_per_day(y, score, day, 10) == pytest.approx(4 / 7)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1), st.integers(0, 3)), min_size=1),
    st.integers(1, 6),
)
def test_top_k_precision_per_day_equals_a_naive_loop(rows, k):
    y = np.array([r[0] for r in rows])
    score = np.array([r[1] for r in rows])
    day = np.array([r[2] for r in rows])
    chosen = []
    for d in sorted(set(day.tolist())):
        members = [i for i in range(len(rows)) if day[i] == d]
        members.sort(key=lambda i: -score[i])
        chosen += [y[i] for i in members[:k]]
    assert top_k_precision_per_day(y, score, day, k) == pytest.approx(sum(chosen) / len(chosen))


def test_amount_caught_share_by_hand():
    y = np.array([1, 1, 0, 1])
    score = np.array([0.9, 0.2, 0.95, 0.6])
    amount = np.array([100.0, 300.0, 1000.0, 100.0])
    assert amount_caught_share(y, score, amount, 0.5) == pytest.approx(200.0 / 500.0)
    assert math.isnan(amount_caught_share(np.zeros(4), score, amount, 0.5))


def test_review_threshold_spends_the_daily_budget():
    # 3 days x 10 records, distinct scores: a budget of 2 a day means the top 6 overall
    rng = np.random.default_rng(5)
    score = rng.permutation(np.linspace(0.01, 0.99, 30))
    day = np.repeat([10, 11, 12], 10)
    y = np.zeros(30, dtype=int)
    review, _ = choose_thresholds(y, score, day, review_budget_per_day=2, block_precision=0.9)
    assert review == np.sort(score)[-6]
    assert (score >= review).sum() == 6


def test_review_threshold_never_exceeds_the_budget_on_ties():
    score = np.array([0.9, 0.8, 0.5, 0.5, 0.5, 0.1])
    y = np.zeros(6, dtype=int)
    review, _ = choose_thresholds(y, score, np.zeros(6), review_budget_per_day=3, block_precision=1)
    assert review == 0.8  # 0.5 would flag 5 records, over a budget of 3


def test_block_threshold_is_the_lowest_with_the_precision():
    # descending scores; labels chosen so precision at each cut is known
    score = np.linspace(0.99, 0.01, 20)
    y = np.array([1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    # precision at the top 9 = 8/9 >= 0.85; top 10 = 8/10; top 12 = 9/12; so the cut is 9
    review, block = choose_thresholds(
        y, score, np.zeros(20), review_budget_per_day=15, block_precision=0.85
    )
    assert review == score[14] and block == score[8]
    _, strict = choose_thresholds(
        y, score, np.zeros(20), review_budget_per_day=15, block_precision=1.0
    )
    assert strict == score[6]  # the top 7 are all fraud


def test_block_needs_a_handful_of_flagged_records():
    score = np.linspace(0.99, 0.01, 20)
    y = np.array([1, 1, 0, 0, 0] + [0] * 15)  # only the top 2 are precise
    review, block = choose_thresholds(
        y, score, np.zeros(20), review_budget_per_day=1, block_precision=0.9
    )
    assert block is None  # "off": nothing is blocked by the model, not even a score of 1.0
    assert review == score[0]


def test_block_is_never_below_review():
    score = np.linspace(0.99, 0.01, 20)
    y = np.ones(20, dtype=int)  # every cut is precise, so block would be the lowest score
    review, block = choose_thresholds(
        y, score, np.zeros(20), review_budget_per_day=5, block_precision=0.9
    )
    assert review == score[4] and block == review


def test_evaluate_collects_everything_and_serialises():
    y, score = random_scores(6)
    day = np.arange(len(y)) // 500
    amount = np.random.default_rng(6).uniform(1.0, 500.0, len(y))
    metrics = evaluate(y, score, amount, day, 0.3, 0.6)
    assert isinstance(metrics, Metrics)
    assert metrics.n == len(y) and metrics.n_fraud == int(y.sum())
    assert metrics.auc_roc == pytest.approx(roc_auc_score(y, score))
    assert metrics.n_flagged_review == int((score >= 0.3).sum())
    assert metrics.recall_at_block <= metrics.recall_at_review
    assert [k for k, _ in metrics.top_k_precision_per_day] == [10, 50, 100]
    assert metrics.top_k_precision_per_day[0][1] == top_k_precision_per_day(y, score, day, 10)
    assert metrics.amount_caught_review == amount_caught_share(y, score, amount, 0.3)
    data = json.loads(json.dumps(metrics.to_dict(), allow_nan=False))
    assert data["top_k_precision_per_day"]["50"] == metrics.top_k_precision_per_day[1][1]


def test_evaluate_on_one_class_is_strict_json_with_nulls():
    score = np.array([0.2, 0.4, 0.7])
    metrics = evaluate(np.zeros(3), score, np.ones(3), np.zeros(3), 0.5, 0.9)
    data = metrics.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["auc_roc"] is None and data["recall_at_review"] is None
    assert data["precision_at_review"] == 0.0 and data["n_flagged_review"] == 1
