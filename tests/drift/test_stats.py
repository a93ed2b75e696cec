"""Drift statistics as maths: hand-computed PSI; KS, Wasserstein, JS, chi-squared and
Benjamini-Hochberg equal to SciPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare, false_discovery_control, ks_2samp, wasserstein_distance

from fraudcli.drift.stats import (
    benjamini_hochberg,
    chi2_test,
    js_distance,
    ks_and_wasserstein,
    ks_pvalue,
    psi,
    smoothed_shares,
)
from tests.helpers import normal


def test_psi_unsmoothed_hand_computed():
    # p = (.5, .3, .2), q = (.4, .3, .3):
    # (.4-.5) ln(.4/.5) + 0 + (.3-.2) ln(.3/.2) = .1 ln 1.25 + .1 ln 1.5 = 0.0628608659...
    assert psi([50, 30, 20], [40, 30, 30], eps=0.0) == pytest.approx(0.0628608659, abs=1e-9)
    assert psi([5, 3, 2], [0.4, 0.3, 0.3], eps=0.0) == pytest.approx(0.0628608659, abs=1e-9)


def test_psi_smooths_an_empty_reference_bin():
    # ref (100, 0), cur (90, 10), eps 1e-4: p = (1.0001, .0001)/1.0002, q = (.9001, .1001)/1.0002
    # PSI = (.1/1.0002) (ln(1.0001/.9001) + ln(.1001/.0001)) = 0.09998 * 7.01412 = 0.701271...
    expected = 0.1 / 1.0002 * (math.log(1.0001 / 0.9001) + math.log(0.1001 / 0.0001))
    assert expected == pytest.approx(0.701271, abs=1e-6)
    assert psi([100, 0], [90, 10]) == pytest.approx(expected, rel=1e-12)
    assert psi([100, 0], [100, 0]) == 0.0
    assert math.isinf(psi([100, 0], [90, 10], eps=0.0))


@pytest.mark.parametrize(
    ("m", "n", "decimals"),
    [(5000, 100_000, None), (5000, 30_000, 1), (5000, 3000, None), (400, 400, 1), (50, 7, None)],
)
def test_ks_and_wasserstein_equal_scipy(m, n, decimals):
    ref, cur = normal(1, m), normal(2, n, loc=0.05)
    if decimals is not None:  # heavy ties within and across the samples
        ref, cur = np.round(ref, decimals), np.round(cur, decimals)
    ref_sorted, cur_sorted = np.sort(ref), np.sort(cur)
    d, w = ks_and_wasserstein(ref_sorted, cur_sorted)
    expected = ks_2samp(ref, cur)
    assert d == pytest.approx(float(expected.statistic), abs=1e-12)
    assert ks_pvalue(d, ref_sorted, cur_sorted) == pytest.approx(expected.pvalue, rel=1e-9)
    assert w == pytest.approx(wasserstein_distance(ref, cur), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_js_distance_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    p, q = rng.integers(0, 50, 12).astype(float), rng.integers(0, 50, 12).astype(float)
    p[3], q[5] = 0.0, 0.0  # a category on one side only
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    assert js_distance(p, p) == pytest.approx(0.0, abs=1e-12)
    assert js_distance([1, 0], [0, 1]) == pytest.approx(1.0)


def test_chi2_equals_scipy_chisquare():
    observed = np.array([480, 310, 160, 40, 10])
    shares = smoothed_shares(np.array([500, 300, 150, 50, 0]))  # last one unseen in the reference
    statistic, pvalue = chi2_test(observed, shares)
    expected = chisquare(observed, observed.sum() * shares)
    assert statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert pvalue == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_benjamini_hochberg_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.random(30), rng.random(10) * 1e-4, [0.02, 0.02, 0.02, 1.0]])
    rng.shuffle(p)
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p), rtol=1e-12)


def test_benjamini_hochberg_leaves_nan_out():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    adjusted = benjamini_hochberg(p)
    assert math.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2, 3]], false_discovery_control(p[[0, 2, 3]]))
    assert benjamini_hochberg(np.array([])).shape == (0,)
