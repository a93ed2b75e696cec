"""fraud.toml: defaults, user overrides, column mapping, clear errors."""

from __future__ import annotations

import pytest

from fraudcli.config.load import load_config, merge, parse_mapping
from fraudcli.errors import ConfigError


def test_merge_tables_and_rules_by_name():
    base = {"thresholds": {"review": 0.5, "block": 0.9}, "rules": [{"name": "a", "when": "1"}]}
    user = {"thresholds": {"block": 0.8}, "rules": [{"name": "a", "when": "2"}, {"name": "b"}]}
    merged = merge(base, user)
    assert merged["thresholds"] == {"review": 0.5, "block": 0.8}
    assert merged["rules"] == [{"name": "a", "when": "2"}, {"name": "b"}]


def test_parse_mapping():
    assert parse_mapping(["user_id=CUSTOMER_ID", " amount = TX_AMOUNT "]) == {
        "user_id": "CUSTOMER_ID",
        "amount": "TX_AMOUNT",
    }
    with pytest.raises(ConfigError, match="FIELD=COLUMN"):
        parse_mapping(["user_id"])


def test_user_file_and_map_options(tmp_path):
    path = tmp_path / "fraud.toml"
    path.write_text('[columns]\nuser_id = "CUSTOMER_ID"\n[features]\nlabel_delay_days = 3\n')
    config = load_config(path, ["amount=TX_AMOUNT"])
    assert dict(config.columns.mapping) == {"user_id": "CUSTOMER_ID", "amount": "TX_AMOUNT"}
    assert config.store.label_delay == 3 * 86400
    assert "features" in config.user_keys and config.sources[-1] == str(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[columns\n", "not valid TOML"),
        ('[columns]\ncustomer = "X"\n', r"\[columns\] unknown key 'customer'"),
        ('[features]\nlabel_delay_days = "seven"\n', "must be a finite number"),
        ("[policy]\nblock_precision = 2\n", "block_precision"),
    ],
)
def test_invalid_config_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "fraud.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_the_readme_rules_example_loads(tmp_path):
    """Docs that run: the fraud.toml example in the README is valid and its rules compile."""
    import re
    from pathlib import Path

    from fraudcli.decision.engine import Thresholds
    from fraudcli.scoring.load import build_engine

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    (example,) = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    path = tmp_path / "fraud.toml"
    path.write_text(example)
    engine = build_engine(load_config(path), {"review": 0.5, "block": 0.9})
    # the user's [thresholds] win over the bundle's; the costs come from [policy]
    assert engine.thresholds == Thresholds(0.05, None, review_cost=25.0)
    assert {rule.name for rule in engine.rules} >= {"card_testing_burst", "big_night_online"}
