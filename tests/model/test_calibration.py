"""Brier score, expected calibration error, the reliability table, and top-k cards a day."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from fraudcli.model.calibration import (
    brier,
    constant_brier,
    expected_calibration_error,
    reliability,
)
from fraudcli.model.metrics import top_k_card_precision_per_day


def test_brier_matches_sklearn_and_the_constant_predictor():
    rng = np.random.default_rng(0)
    y, p = (rng.random(1_000) < 0.1).astype(int), rng.random(1_000)
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    rate = y.mean()
    assert constant_brier(y) == pytest.approx(brier(y, np.full(1_000, rate)), rel=1e-12)


def test_reliability_bins_have_equal_counts_in_score_order():
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    table = reliability(y, p, bins=5)
    assert [b.n for b in table] == [2] * 5
    assert [b.observed for b in table] == [0.0, 0.5, 0.5, 1.0, 0.5]
    assert [b.predicted for b in table] == pytest.approx([0.15, 0.35, 0.55, 0.75, 0.95])
    assert (table[0].p_low, table[-1].p_high) == (0.1, 1.0)
    # ECE: weighted |predicted - observed| = (0.15 + 0.15 + 0.05 + 0.25 + 0.45) / 5
    assert expected_calibration_error(y, p, bins=5) == pytest.approx(0.21)
    assert len(reliability(y[:3], p[:3])) == 3  # fewer rows than bins: a bin per row


def test_a_calibrated_predictor_has_a_small_ece_and_a_shifted_one_does_not():
    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 60, 200_000)  # rare events, like fraud
    y = (rng.random(len(p)) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.001
    assert expected_calibration_error(y, np.minimum(p * 3, 1)) > 0.01
    assert brier(y, p) < constant_brier(y) < brier(y, np.minimum(p * 20, 1))


def test_top_k_cards_a_day():
    y = np.array([1, 0, 0, 0, 1, 0])
    score = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.95])
    day = np.array([0, 0, 0, 0, 1, 1])
    card = np.array(["a", "a", "b", "c", "a", "b"])
    # day 0: a (0.9, fraud), b, c; day 1: b (0.95), a (0.2, fraud)
    assert top_k_card_precision_per_day(y, score, day, card, 1) == 0.5
    assert top_k_card_precision_per_day(y, score, day, card, 2) == 0.5
    assert top_k_card_precision_per_day(y, score, day, card, 3) == 2 / 5
