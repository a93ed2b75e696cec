"""Drift statistics as maths (hand-computed PSI; KS, Wasserstein, JS, chi-squared and BH equal to
SciPy) and the verdicts as behaviour: no alarm between two samples of one distribution at a
million rows, an alarm for a clear shift; awkward columns; JSON; streaming equals one-shot."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare, false_discovery_control, ks_2samp, wasserstein_distance

from fraudcli.cli.sparkline import sparkline
from fraudcli.drift import (
    CategoricalAccumulator,
    DriftThresholds,
    NumericAccumulator,
    Profile,
    benjamini_hochberg,
    build_profile,
    compare_categorical,
    compare_numeric,
    js_distance,
    judge_drift,
    profile_categorical,
    profile_numeric,
    psi,
    psi_by_period,
)
from fraudcli.drift.sample import BottomK, bottom_k_sample
from fraudcli.drift.stats import chi2_test, ks_and_wasserstein, ks_pvalue, smoothed_shares


def normal(seed: int, n: int, loc: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, 1.0, n)


def categories(seed: int, n: int, shares: dict[str, float]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(list(shares), size=n, p=list(shares.values()))


MIX = {"pos": 0.5, "web": 0.3, "atm": 0.15, "moto": 0.05}


# --- PSI by hand ---------------------------------------------------------------------------


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


# --- agreement with SciPy --------------------------------------------------------------------


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


# --- verdicts ---------------------------------------------------------------------------------


def million_row_report(cur_seed: int, cur_loc: float, cur_mix: dict[str, float]):
    """Current data streamed in batches through the accumulators `fraud drift-report` uses,
    then judged: numeric and categorical comparisons and the verdict."""
    n = 1_000_000
    ref = build_profile(
        {"amount_z": normal(10, n), "txn_count_1h": np.random.default_rng(11).poisson(0.3, n)},
        {"channel": categories(12, n, MIX)},
    )
    numeric = {name: NumericAccumulator(p) for name, p in ref.numeric.items()}
    categorical = {name: CategoricalAccumulator(p) for name, p in ref.categorical.items()}
    current = {
        "amount_z": normal(cur_seed, n, cur_loc),
        "txn_count_1h": np.random.default_rng(cur_seed + 1).poisson(0.3, n),
    }
    channel = categories(cur_seed + 2, n, cur_mix)
    for start in range(0, n, 262_144):
        for name, acc in numeric.items():
            acc.add(current[name][start : start + 262_144])
        categorical["channel"].add(channel[start : start + 262_144])
    num = {name: acc.result() for name, acc in numeric.items()}
    cat = {name: acc.result() for name, acc in categorical.items()}
    return SimpleNamespace(numeric=num, categorical=cat, verdict=judge_drift(num, cat))


def test_no_drift_between_two_million_row_samples_of_one_distribution():
    # channel mix moves by one point: real, and at a million rows chi-squared is sure of it,
    # but the effect is tiny; the verdict must stay quiet.
    slightly = {"pos": 0.51, "web": 0.29, "atm": 0.15, "moto": 0.05}
    report = million_row_report(cur_seed=20, cur_loc=0.0, cur_mix=slightly)
    levels = {f.name: f.level for f in report.verdict.features}
    assert levels == {"amount_z": "stable", "txn_count_1h": "stable", "channel": "stable"}
    assert report.verdict.level == "stable"
    channel = next(f for f in report.verdict.features if f.name == "channel")
    assert channel.p_adjusted < 1e-6 and channel.significant
    assert report.numeric["amount_z"].psi < 0.001


def test_a_half_sd_shift_and_a_mix_change_are_flagged():
    swapped = {"pos": 0.15, "web": 0.3, "atm": 0.5, "moto": 0.05}
    report = million_row_report(cur_seed=30, cur_loc=0.5, cur_mix=swapped)
    levels = {f.name: f.level for f in report.verdict.features}
    assert levels["amount_z"] in ("warn", "drift")
    assert 0.2 < report.numeric["amount_z"].psi < 0.3  # ~ delta^2 = 0.25 for a normal shift
    assert levels["channel"] == "drift"
    assert levels["txn_count_1h"] == "stable"
    assert report.verdict.level == "drift"
    json.dumps(report.verdict.to_dict(), allow_nan=False)


def test_thresholds_are_configurable():
    ref = profile_numeric(normal(40, 20_000))
    drift = {"x": compare_numeric(ref, normal(41, 20_000, loc=0.5))}
    assert judge_drift(drift, {}).features[0].level != "stable"
    lenient = DriftThresholds(psi_warn=0.5, psi_drift=0.9)
    assert judge_drift(drift, {}, lenient).features[0].level == "stable"
    assert judge_drift(drift, {}, lenient).level == "stable"


def test_dataset_verdict_counts_warnings():
    ref = profile_numeric(normal(42, 20_000))
    stable = compare_numeric(ref, normal(43, 20_000))
    warn = compare_numeric(ref, normal(44, 20_000, loc=0.4))  # PSI ~ 0.16
    assert judge_drift({"a": warn}, {}).features[0].level == "warn"
    one_of_four = {"a": warn, "b": stable, "c": stable, "d": stable}
    assert judge_drift(one_of_four, {}).level == "warn"
    two_of_four = {**one_of_four, "b": warn}
    assert judge_drift(two_of_four, {}).level == "drift"  # 50% at warn >= 30%
    assert judge_drift(one_of_four, {}).reason == "1 of 4 inputs warn (fewer than 30% of them)"
    assert (
        judge_drift(two_of_four, {}).reason == "2 of 4 inputs warn or drift (at least 30% of them)"
    )
    assert judge_drift({"b": stable}, {}).reason == "none of 1 inputs warns or drifts"
    assert judge_drift(two_of_four, {}).to_dict()["reason"] == judge_drift(two_of_four, {}).reason


# --- awkward columns ----------------------------------------------------------------------------


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


def test_missing_rate_change_is_reported_and_judged():
    ref_values = normal(80, 10_000)
    ref_values[:500] = np.nan
    cur = normal(81, 10_000)
    cur[:3000] = np.nan
    drift = compare_numeric(profile_numeric(ref_values), cur)
    assert (drift.missing_rate_ref, drift.missing_rate_cur) == (0.05, 0.3)
    assert drift.psi < 0.05
    verdict = judge_drift({"x": drift}, {}).features[0]
    assert verdict.level == "drift" and verdict.reasons == ("missing rate +0.250",)


# --- profiles as data ---------------------------------------------------------------------------


def test_profile_json_round_trip():
    rng = np.random.default_rng(90)
    amount = rng.lognormal(3, 1, 20_000)
    amount[::50] = np.nan
    profile = build_profile(
        {"amount": amount, "flag": (rng.random(20_000) < 0.05).astype(float)},
        {"channel": categories(91, 20_000, MIX)},
        sample_size=1000,
    )
    text = json.dumps(profile.to_dict(), allow_nan=False)
    back = Profile.from_dict(json.loads(text))
    assert back.to_dict() == profile.to_dict()
    assert back.numeric["amount"].edges[0] == -math.inf
    assert back.numeric["amount"].edges[-1] == math.inf
    cur = rng.lognormal(3.2, 1, 5000)
    assert compare_numeric(back.numeric["amount"], cur) == compare_numeric(
        profile.numeric["amount"], cur
    )


def test_profile_is_deterministic_and_rejects_ragged_columns():
    values = normal(95, 30_000)
    assert np.array_equal(profile_numeric(values).sample, profile_numeric(values).sample)
    assert not np.array_equal(
        profile_numeric(values, seed=1).sample, profile_numeric(values).sample
    )
    with pytest.raises(ValueError, match="different lengths"):
        build_profile({"a": np.zeros(3)}, {"b": ["x"] * 4})


# --- batches ------------------------------------------------------------------------------------


def batches(values, seed: int):
    cuts = np.sort(np.random.default_rng(seed).integers(0, len(values), 7))
    return np.split(values, cuts)


@pytest.mark.parametrize("n", [8000, 60_000])  # within and beyond the reservoir
def test_accumulator_equals_one_shot(n):
    ref = profile_numeric(normal(100, 20_000))
    cur = normal(101, n, loc=0.2)
    cur[::7] = np.nan
    acc = NumericAccumulator(ref, reservoir_size=10_000)
    for batch in batches(cur, seed=102):
        acc.add(batch)
    streamed, one_shot = acc.result(), compare_numeric(ref, cur)
    assert streamed.psi == pytest.approx(one_shot.psi, rel=1e-12)
    assert streamed.cur_hist == one_shot.cur_hist
    assert streamed.missing_rate_cur == one_shot.missing_rate_cur
    if n <= 10_000:
        assert streamed == one_shot
    else:
        assert streamed.ks_n_cur == 10_000
        assert streamed.ks_stat == pytest.approx(one_shot.ks_stat, abs=0.02)


def test_categorical_accumulator_equals_one_shot():
    ref = profile_categorical(categories(110, 5000, MIX))
    cur = np.concatenate([categories(111, 6000, MIX), ["new"] * 40]).astype(object)
    cur[::9] = None
    acc = CategoricalAccumulator(ref)
    for batch in batches(cur, seed=112):
        acc.add(batch)
    assert acc.result() == compare_categorical(ref, cur)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 3000),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
    size=st.integers(1, 500),
)
def test_reservoir_sample_does_not_depend_on_batching(n, cuts, size):
    values = normal(n, n)
    values[::5] = np.nan
    sample = BottomK(size, seed=3)
    for batch in np.split(values, sorted(c for c in cuts if c <= n)):
        sample.add(batch)
    expected = bottom_k_sample(values, size, seed=3)
    assert np.array_equal(sample.sorted_values(), expected)
    assert len(expected) == min(size, int(np.isfinite(values).sum()))


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


# --- rendering helper ---------------------------------------------------------------------------


def test_sparkline():
    assert sparkline([0.0, 0.25, 0.5, 1.0]) == " ▂▄█"
    assert sparkline([0.1, 0.2], top=0.8) == "▁▂"
    assert sparkline([]) == ""
    assert sparkline([math.nan, 0.0]) == "  "
