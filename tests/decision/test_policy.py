"""Thresholds a fraud team can reason about: "off" thresholds, the expected-loss policy on the
record path and the batch path, and thresholds carried over to a refitted model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fraudcli.config.load import load_config
from fraudcli.decision.engine import DecisionEngine, Thresholds
from fraudcli.errors import ConfigError
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io.read import read_batches
from fraudcli.model.metrics import carry_thresholds, choose_thresholds, evaluate
from fraudcli.scoring.load import build_engine, open_bundle
from fraudcli.scoring.pipeline import RECORD_FIELDS, judge

NAMES = set(FEATURE_NAMES) | set(RECORD_FIELDS)


def test_off_is_a_word_not_a_number():
    assert Thresholds.from_config({"block": "off"}) == Thresholds(0.5, None)
    off = Thresholds.from_config({"review": "off", "block": "off"}, {"review_cost": 25})
    assert off == Thresholds(None, None, 25.0, None)
    assert off.cutoffs() == {"review": "off", "block": "off"}
    assert off.to_dict() == {
        "review": "off",
        "block": "off",
        "review_cost": 25.0,
        "block_cost": "off",
    }
    assert Thresholds(0.9, None).review == 0.9  # nothing above review to compare with
    for bad in ("OFF", "none", math.inf, math.nan, True, "0.5"):
        with pytest.raises(ConfigError):
            Thresholds(0.5, bad)
    for cost in (-1.0, math.inf, "x"):
        with pytest.raises(ConfigError, match="review_cost"):
            Thresholds(0.5, 0.9, review_cost=cost)


def engine(**thresholds) -> DecisionEngine:
    return DecisionEngine(Thresholds(**thresholds))


def test_an_off_block_never_blocks_even_a_saturated_score():
    decision = engine(review=0.3, block=None).decide(1.0, {})
    assert decision.decision == "REVIEW" and decision.reasons == ("score>=review",)
    assert engine(review=None, block=None).decide(1.0, {}).decision == "ALLOW"


@pytest.mark.parametrize(
    ("p", "amount", "decision", "reasons"),
    [
        (0.01, 100.0, "ALLOW", ()),  # expected loss 1 <= 25
        (0.30, 100.0, "REVIEW", ("expected_loss>review_cost",)),  # 30 > 25
        (0.25, 100.0, "ALLOW", ()),  # exactly the cost: not above it
        (0.10, 5000.0, "BLOCK", ("expected_loss>block_cost",)),  # 500 > 400
        (0.95, 1000.0, "BLOCK", ("score>=block", "expected_loss>block_cost")),
        (0.60, 10.0, "REVIEW", ("score>=review",)),  # 6: the score alone
    ],
)
def test_expected_loss_policy(p, amount, decision, reasons):
    policy = engine(review=0.5, block=0.9, review_cost=25.0, block_cost=400.0)
    assert "amount" in policy.names
    got = policy.decide(p, {"amount": amount})
    assert (got.decision, got.reasons) == (decision, reasons)


def test_loss_policy_off_reads_no_amount():
    assert "amount" not in engine().names
    assert engine(review_cost=1.0).decide(0.1, {}).decision == "ALLOW"  # no amount, no loss


def test_the_bundles_off_block_and_the_configs_costs_meet(tmp_path):
    path = tmp_path / "fraud.toml"
    path.write_text('[policy]\nreview_cost = 30\nblock_cost = "off"\n')
    built = build_engine(load_config(path), {"review": 0.07, "block": "off"})
    assert built.thresholds == Thresholds(0.07, None, 30.0, None)
    path.write_text("[thresholds]\nreview = 0.2\nblock = 0.8\n[policy]\nreview_cost = 30\n")
    mine = build_engine(load_config(path), {"review": 0.07, "block": "off"})
    assert mine.thresholds == Thresholds(0.2, 0.8, 30.0, None)  # the user's [thresholds] win


def test_an_unmeetable_block_policy_is_off_and_reported_as_off():
    rng = np.random.default_rng(0)
    score = rng.random(5_000)
    y = (rng.random(5_000) < 0.01).astype(int)  # scores that know nothing
    day = np.arange(5_000) // 500
    review, block = choose_thresholds(y, score, day, review_budget_per_day=20, block_precision=0.9)
    assert block is None
    metrics = evaluate(y, score, np.ones(5_000), day, review, block)
    assert metrics.n_flagged_block == 0 and metrics.amount_caught_block == 0.0
    assert metrics.to_dict()["block_threshold"] == "off"
    json.dumps(metrics.to_dict(), allow_nan=False)  # strict JSON: no Infinity anywhere


def test_carried_thresholds_flag_as_many_rows():
    rng = np.random.default_rng(1)
    old, new = rng.random(1_000), rng.random(1_000) ** 3  # another model, other scale
    review, block = 0.8, 0.95
    carried = carry_thresholds(old, new, (review, block))
    for before, after in zip((review, block), carried, strict=True):
        assert (new >= after).sum() == (old >= before).sum()
    assert carried[1] >= carried[0]
    assert carry_thresholds(old, new, (review, None)) == (carried[0], None)
    assert carry_thresholds(old, new, (None, None)) == (None, None)


@pytest.fixture
def loss_config(tmp_path):
    path = tmp_path / "fraud.toml"
    path.write_text(
        '[thresholds]\nreview = 0.003\nblock = "off"\n[policy]\nreview_cost = 0.2\nblock_cost = 8\n'
    )
    return load_config(path)


def test_batch_judging_equals_the_record_path_under_the_loss_policy(world, model_dir, loss_config):
    pipeline = open_bundle(loss_config, model_dir).pipeline
    txns = [t for batch in read_batches(world / "later.jsonl") for _, _, t in batch]
    features = [pipeline.observe(txn) for txn in txns]
    want = [
        judge(pipeline.scorer, pipeline.engine, f, [getattr(t, name) for name in RECORD_FIELDS])
        for t, f in zip(txns, features, strict=True)
    ]
    got = pipeline.judge_many(txns, features)
    assert [(d.decision, d.reasons) for d in got] == [(d.decision, d.reasons) for d in want]
    # the probabilities agree to about 1e-15, and exactly once rounded as they are written
    assert [round(d.fraud_probability, 6) for d in got] == [
        round(d.fraud_probability, 6) for d in want
    ]
    reasons = {r for d in want for r in d.reasons}
    assert {"expected_loss>review_cost", "expected_loss>block_cost"} <= reasons
    assert "score>=block" not in reasons
