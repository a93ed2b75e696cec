"""The decision engine: thresholds, block lists, rules, reasons, the rules-only fallback."""

from __future__ import annotations

import math
import tomllib
from importlib import resources

import pytest

from fraudcli.decision.engine import (
    Blocklists,
    Decision,
    DecisionEngine,
    Thresholds,
    model_reasons,
)
from fraudcli.decision.rules import compile_rule
from fraudcli.errors import ConfigError

# The names the feature store and the record schema define (from the decision engine's brief).
FEATURES = """amount log_amount hour_sin hour_cos is_weekend is_night user_txn_count_1h
user_txn_count_24h user_txn_count_7d user_txn_count_30d user_amount_mean_24h user_amount_mean_7d
user_amount_mean_30d amount_to_user_mean_30d hours_since_user_prev distance_from_prev_km
speed_from_prev_kmh is_new_merchant_30d is_new_country_30d is_new_device_30d merchant_txn_count_1d
merchant_txn_count_7d merchant_txn_count_30d merchant_fraud_rate_1d merchant_fraud_rate_7d
merchant_fraud_rate_30d""".split()
RECORD = """transaction_id user_id amount merchant_id merchant_category country lat lon device_id
channel""".split()
NAMES = set(FEATURES) | set(RECORD)


def record(**overrides: object) -> dict:
    values = {
        "transaction_id": "t1",
        "user_id": "u1",
        "amount": 42.0,
        "merchant_id": "m1",
        "merchant_category": "grocery",
        "country": "US",
        "lat": 40.7,
        "lon": -74.0,
        "device_id": "d1",
        "channel": "web",
    }
    return values | overrides


def features_and_record(**overrides: object) -> dict:
    return dict.fromkeys(FEATURES, 0.0) | record() | overrides


def rule(name: str, when: str, action: str = "REVIEW"):
    return compile_rule(name, when, action, NAMES)


def engine(*rules, review=0.5, block=0.9, **lists) -> DecisionEngine:
    return DecisionEngine(Thresholds(review, block), rules, Blocklists(**lists))


@pytest.mark.parametrize(
    ("probability", "expected", "reasons"),
    [
        (0.0, "ALLOW", ()),
        (0.4999999, "ALLOW", ()),
        (0.5, "REVIEW", ("score>=review",)),
        (0.8999999, "REVIEW", ("score>=review",)),
        (0.9, "BLOCK", ("score>=block",)),
        (1.0, "BLOCK", ("score>=block",)),
    ],
)
def test_thresholds_boundaries_are_inclusive(probability, expected, reasons) -> None:
    decision = engine().decide(probability, record(), None)
    assert decision == Decision(expected, probability, reasons)


def test_equal_thresholds_leave_no_review_band() -> None:
    same = engine(review=0.7, block=0.7)
    assert [same.decide(p, record()).decision for p in (0.69, 0.7)] == ["ALLOW", "BLOCK"]


@pytest.mark.parametrize(
    ("review", "block"),
    [(0.9, 0.5), (-0.1, 0.5), (0.5, 1.01), (math.nan, 0.9), (0.5, math.nan), ("0.5", 0.9)],
)
def test_invalid_thresholds_are_refused(review: object, block: object) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        Thresholds(review, block)


def test_boolean_threshold_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be a number"):
        Thresholds(True, 1.0)


def test_thresholds_from_config() -> None:
    assert Thresholds.from_config({"review": 0, "block": 1}) == Thresholds(0.0, 1.0)
    assert Thresholds.from_config({"block": 0.95}) == Thresholds(0.5, 0.95)
    with pytest.raises(ConfigError, match=r"\[thresholds\] unknown key.*'reveiw'"):
        Thresholds.from_config({"reveiw": 0.4})


def test_probability_outside_unit_interval_is_a_bug_not_an_allow() -> None:
    for bad in (math.nan, -0.01, 1.5):
        with pytest.raises(ValueError, match="fraud_probability"):
            engine().decide(bad, record())


@pytest.mark.parametrize(
    ("probability", "action", "expected"),
    [
        (0.1, "REVIEW", "REVIEW"),  # a rule raises the model's ALLOW
        (0.1, "BLOCK", "BLOCK"),
        (0.6, "REVIEW", "REVIEW"),
        (0.6, "BLOCK", "BLOCK"),
        (0.95, "REVIEW", "BLOCK"),  # ... and never lowers the model's BLOCK
    ],
)
def test_decision_is_the_most_severe_of_model_and_rules(probability, action, expected) -> None:
    fired = engine(rule("big", "amount > 10", action))
    assert fired.decide(probability, record()).decision == expected


def test_rules_that_do_not_fire_change_nothing() -> None:
    quiet = engine(rule("big", "amount > 1000", "BLOCK"))
    assert quiet.decide(0.1, record()) == Decision("ALLOW", 0.1, ())


@pytest.mark.parametrize(
    ("lists", "overrides", "reason"),
    [
        ({"users": ["u1"]}, {}, "blocklist:user=u1"),
        ({"merchants": ["m1", "m2"]}, {}, "blocklist:merchant=m1"),
        ({"countries": ["kp", " IR"]}, {"country": "KP"}, "blocklist:country=KP"),
        ({"countries": ["KP"]}, {"country": "KP"}, "blocklist:country=KP"),
        ({"devices": ["d1"]}, {}, "blocklist:device=d1"),
    ],
)
def test_block_lists_block_with_a_reason(lists, overrides, reason) -> None:
    decision = engine(**lists).decide(0.0, record(**overrides))
    assert (decision.decision, decision.reasons) == ("BLOCK", (reason,))


def test_block_lists_ignore_other_and_missing_values() -> None:
    lists = engine(users=["u9"], countries=["KP"], devices=["d9"])
    assert lists.decide(0.0, record(country=None, device_id=None)).decision == "ALLOW"
    assert lists.decide(0.0, {"amount": 1.0}).decision == "ALLOW"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"users": "u1"}, "users must be a list"),
        ({"devices": [1, 2]}, "devices must hold strings"),
        ({"cards": []}, r"unknown key.*'cards'"),
    ],
)
def test_malformed_block_lists_are_refused(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Blocklists.from_config(section)


def test_reasons_order_blocklists_rules_score_then_model() -> None:
    full = engine(
        rule("second_in_file", "amount > 10"),
        rule("never", "amount > 1000", "BLOCK"),
        rule("third_in_file", "channel == 'web'", "BLOCK"),
        countries=["US"],
        users=["u1"],
    )
    contributions = [("amount", 0.3), ("is_night", 1.2), ("hour_sin", -2.0)]
    decision = full.decide(0.6, record(), contributions)
    assert decision.reasons == (
        "blocklist:user=u1",
        "blocklist:country=US",
        "rule:second_in_file",
        "rule:third_in_file",
        "score>=review",
        "model:is_night=+1.20",
        "model:amount=+0.30",
    )
    assert decision.decision == "BLOCK"


def test_model_reasons_top_three_positive_above_floor() -> None:
    contributions = [
        ("a", 0.5),
        ("b", 2.25),
        ("c", -3.0),
        ("d", 0.005),  # below the floor
        ("e", 0.5),  # ties keep feature order
        ("f", 1.0),
        ("g", math.nan),
    ]
    assert model_reasons(contributions) == ["model:b=+2.25", "model:f=+1.00", "model:a=+0.50"]
    assert model_reasons([("c", -1.0), ("d", 0.0)]) == []
    assert engine().decide(0.1, record(), []).reasons == ()


def test_rules_see_features_and_record_fields_together() -> None:
    burst = engine(rule("card_testing_burst", "user_txn_count_1h >= 8 and amount < 5"))
    small = features_and_record(user_txn_count_1h=9.0, amount=1.0)
    assert burst.decide(0.2, small).reasons == ("rule:card_testing_burst",)
    assert burst.decide(0.2, small | {"amount": 50.0}).decision == "ALLOW"


def test_rules_only_fallback_uses_record_fields_and_marks_degraded() -> None:
    fallback = engine(
        rule("huge_amount", "amount > 5000", "BLOCK"),
        rule("needs_feature", "user_txn_count_1h >= 8"),
        rule("not_of_feature", "not is_new_device_30d == 0"),
        rule("decided_by_record", "amount > 1000 or speed_from_prev_kmh > 900"),
        devices=["d7"],
    )
    plain = fallback.decide_rules_only(record())
    assert plain == Decision("ALLOW", None, ("degraded:rules-only",), degraded=True)
    flagged = fallback.decide_rules_only(record(amount=6000.0, device_id="d7"))
    assert flagged.decision == "BLOCK"
    assert flagged.fraud_probability is None and flagged.degraded
    assert flagged.reasons == (
        "degraded:rules-only",
        "blocklist:device=d7",
        "rule:huge_amount",
        "rule:decided_by_record",
    )


def test_normal_decisions_are_not_degraded() -> None:
    assert engine().decide(0.3, record()).degraded is False


def test_decision_is_frozen() -> None:
    decision = engine().decide(0.3, record())
    with pytest.raises(AttributeError):  # immutable
        decision.decision = "BLOCK"


def test_with_thresholds_keeps_rules_and_lists() -> None:
    base = engine(rule("big", "amount > 10"), users=["u9"])
    strict = base.with_thresholds(Thresholds(0.1, 0.2))
    assert strict.thresholds == Thresholds(0.1, 0.2)
    assert strict.rules == base.rules and strict.blocklists == base.blocklists
    assert strict.decide(0.15, record()).reasons == ("rule:big", "score>=review")
    assert base.thresholds == Thresholds(0.5, 0.9)


def test_from_config_builds_everything_and_reports_bad_rules() -> None:
    config = {
        "thresholds": {"review": 0.3, "block": 0.8},
        "blocklists": {"countries": ["KP"]},
        "rules": [{"name": "big", "when": "amount > 10", "action": "BLOCK"}],
    }
    built = DecisionEngine.from_config(config, NAMES)
    assert built.thresholds == Thresholds(0.3, 0.8)
    assert built.decide(0.0, record(country="KP")).reasons == ("blocklist:country=KP", "rule:big")
    assert DecisionEngine.from_config({}, NAMES).thresholds == Thresholds(0.5, 0.9)
    bad = config | {"rules": [{"name": "evil", "when": "open('x')", "action": "BLOCK"}]}
    with pytest.raises(ConfigError, match="rule 'evil': function calls"):
        DecisionEngine.from_config(bad, NAMES)
    with pytest.raises(ConfigError, match=r"\[blocklists\] must be a table"):
        DecisionEngine.from_config({"blocklists": ["KP"]}, NAMES)


def shipped() -> dict:
    text = resources.files("fraudcli").joinpath("defaults/fraud.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_shipped_defaults_load_and_every_rule_compiles() -> None:
    config = shipped()
    built = DecisionEngine.from_config(config, NAMES)
    assert 3 <= len(built.rules) <= 5
    assert all(r.names <= NAMES and r.action in ("REVIEW", "BLOCK") for r in built.rules)
    assert built.thresholds == Thresholds(config["thresholds"]["review"], 0.9)
    assert config["policy"]["review_budget_per_day"] == 50
    assert config["policy"]["block_precision"] == 0.9
    assert config["features"]["label_delay_days"] == 7
    assert config["columns"] == {}


def test_shipped_rules_flag_their_patterns_and_leave_a_quiet_txn_alone() -> None:
    built = DecisionEngine.from_config(shipped(), NAMES)
    quiet = features_and_record(user_txn_count_30d=20.0, amount_to_user_mean_30d=1.0)
    assert built.decide(0.01, quiet).decision == "ALLOW"
    patterns = {
        "card_testing_burst": {"user_txn_count_1h": 12.0, "amount": 1.0},
        "impossible_travel": {"speed_from_prev_kmh": 5000.0, "distance_from_prev_km": 2000.0},
        "compromised_merchant": {"merchant_txn_count_7d": 40.0, "merchant_fraud_rate_7d": 0.6},
    }
    for name, overrides in patterns.items():
        decision = built.decide(0.01, quiet | overrides)
        assert f"rule:{name}" in decision.reasons, name
        assert decision.decision != "ALLOW"


def test_brief_names_are_the_feature_spec_and_record_fields() -> None:
    from fraudcli.features.spec import FEATURE_NAMES
    from fraudcli.records.schema import RECORD_FIELDS

    assert set(FEATURE_NAMES) | set(RECORD_FIELDS) == NAMES
