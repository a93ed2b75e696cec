"""Current data against a profile: the profile's sample and std, unseen categories, missing and
constant columns, ties, PSI per period."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from fraudcli.drift.compare import compare_categorical, compare_numeric, psi_by_period
from fraudcli.drift.profile import Profile, profile_categorical, profile_numeric
from fraudcli.drift.verdict import judge_drift
from tests.helpers import MIX, categories, normal


def test_compare_numeric_uses_the_profile_sample_and_std():
    ref_values, cur = normal(3, 50_000) * 7 + 100, normal(4, 20_000) * 7 + 101
    ref = profile_numeric(ref_values)
    drift = compare_numeric(ref, cur)
    expected = ks_2samp(ref.sample, cur)
    assert drift.ks_stat == expected.statistic
    assert drift.ks_pvalue == pytest.approx(expected.pvalue, rel=1e-9)
    scaled = wasserstein_distance(ref.sample, cur) / np.std(ref_values)
    assert drift.wasserstein_scaled == pytest.approx(scaled, rel=1e-9)
    assert (drift.ks_n_ref, drift.ks_n_cur) == (5000, 20_000)


def test_unseen_categories_are_listed_by_name():
    ref = profile_categorical(categories(50, 10_000, MIX))
    cur = np.concatenate([categories(51, 9000, MIX), ["crypto"] * 700, ["p2p"] * 300])
    drift = compare_categorical(ref, cur)
    assert drift.unseen == ("crypto", "p2p")
    assert drift.unseen_share == pytest.approx(0.1)
    assert math.isfinite(drift.chi2) and drift.chi2_pvalue < 1e-12
    ref_counts = [*ref.counts, 0, 0]
    cur_counts = [int((cur == c).sum()) for c in [*ref.categories, "crypto", "p2p"]]
    assert drift.js_distance == pytest.approx(jensenshannon(ref_counts, cur_counts, base=2))
    assert drift.top[0].category == "pos"


def test_categorical_inputs_of_every_kind_profile_alike():
    values = ["a", None, "b", "a", "", "a"]
    expected = profile_categorical(values)
    assert expected.categories == ("a", "", "b") and expected.counts == (3, 1, 1)
    assert (expected.n_rows, expected.n_missing) == (6, 1)
    as_pandas = pd.Series(["a", np.nan, "b", "a", "", "a"])
    chunked = pa.chunked_array([pa.array(values[:3]), pa.array(values[3:])]).dictionary_encode()
    for other in (as_pandas, chunked, np.array(values, dtype=object)):
        assert profile_categorical(other) == expected


def test_all_missing_columns():
    ref = profile_numeric(np.full(1000, np.nan))
    assert ref.missing_rate == 1.0 and len(ref.sample) == 0 and list(ref.counts) == [0]
    both_missing = compare_numeric(ref, np.full(500, np.nan))
    assert math.isnan(both_missing.psi) and math.isnan(both_missing.ks_stat)
    assert judge_drift({"x": both_missing}, {}).level == "stable"
    filled = compare_numeric(profile_numeric(normal(60, 1000)), np.full(500, np.nan))
    assert filled.missing_rate_cur == 1.0 and math.isnan(filled.psi)
    assert judge_drift({"x": filled}, {}).features[0].level == "drift"
    gone = compare_categorical(profile_categorical([None] * 10), ["a", None])
    assert gone.unseen == ("a",) and gone.missing_rate_cur == 0.5
    json.dumps([both_missing.to_dict(), filled.to_dict(), gone.to_dict()], allow_nan=False)
    json.dumps(Profile(1000, {"x": ref}, {}).to_dict(), allow_nan=False)


def test_constant_column_detects_mass_moving_off_it_either_way():
    ref = profile_numeric(np.full(10_000, 3.0))
    assert len(ref.counts) == 3 and list(ref.counts) == [0, 10_000, 0]  # < 3, == 3, > 3
    assert compare_numeric(ref, np.full(5000, 3.0)).psi == pytest.approx(0.0, abs=1e-12)
    for moved_to in (2.0, 4.0):
        cur = np.where(np.arange(5000) < 1500, moved_to, 3.0)
        drift = compare_numeric(ref, cur)
        assert drift.psi > 1.0
        assert drift.wasserstein_scaled == pytest.approx(0.3)  # std 0: in the feature's units
        assert judge_drift({"c": drift}, {}).features[0].level == "drift"


def test_heavily_tied_count_column():
    rng = np.random.default_rng(70)
    ref = profile_numeric(rng.poisson(0.3, 100_000))
    assert ref.counts[1] > 70_000  # all the zeros in the bin "exactly the minimum"
    same = compare_numeric(ref, rng.poisson(0.3, 50_000))
    assert same.psi < 0.01
    more = compare_numeric(ref, rng.poisson(0.6, 50_000))
    assert more.psi > 0.1


def test_psi_by_period_equals_psi_of_each_period():
    ref = profile_numeric(normal(120, 20_000))
    days = np.repeat(np.array(["d1", "d2", "d3", "d4"]), 5000)
    values = np.concatenate([normal(121, 5000), normal(122, 5000, 0.5), normal(123, 10_000)])
    values[15_000:] = np.nan  # d4: nothing to compare
    by_day = psi_by_period(ref, values, days)
    assert list(by_day) == ["d1", "d2", "d3", "d4"]
    for day in ("d1", "d2", "d3"):
        expected = compare_numeric(ref, values[days == day]).psi
        assert by_day[day] == pytest.approx(expected, rel=1e-12)
    assert by_day["d2"] > 0.1 > by_day["d1"]
    assert math.isnan(by_day["d4"])
