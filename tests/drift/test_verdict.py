"""Verdicts from effect sizes: quiet on a million rows of one distribution, loud on real
shifts, configurable thresholds, the dataset rule."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from fraudcli.drift.compare import compare_numeric
from fraudcli.drift.profile import build_profile, profile_numeric
from fraudcli.drift.stream import CategoricalAccumulator, NumericAccumulator
from fraudcli.drift.verdict import DriftThresholds, judge_drift
from tests.helpers import MIX, categories, normal


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
