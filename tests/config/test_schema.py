"""fraud.toml is checked whole against one schema before anything runs (issue 11, item 12).

Each case here was a traceback, a hang or a silent acceptance before: `features = 5`
(AttributeError), a rule named by a list (unhashable), `review_budget_per_day = inf`
(OverflowError) or `nan`, 100,000 nested arrays (RecursionError), `lateness_days = inf`
(trained, then failed writing the manifest), `blocklists = [1]` (the message lost its key).
"""

from __future__ import annotations

import re
import time
from importlib import resources

import pytest
from typer.testing import CliRunner

from fraudcli.cli import app
from fraudcli.config.file import MAX_BYTES
from fraudcli.config.load import load_config
from fraudcli.config.schema import SCHEMA, Table, check_config
from fraudcli.errors import ConfigError


def refusal(tmp_path, text: str) -> str:
    path = tmp_path / "fraud.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and len(message) < 400
    return message[len(f"{path}: ") :]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("features = 5\n", "[features] must be a table, got 5"),
        ("blocklists = [1]\n", "[blocklists] must be a table, got an array of 1 value"),
        (
            "[policy]\nreview_budget_per_day = inf\n",
            "[policy] review_budget_per_day must be a finite number >= 1, got inf",
        ),
        (
            "[policy]\nreview_budget_per_day = nan\n",
            "[policy] review_budget_per_day must be a finite number >= 1, got nan",
        ),
        ("[policy]\nreview_budget_per_day = 0\n", "must be a finite number >= 1, got 0"),
        ("[policy]\nblock_precision = 0\n", "block_precision must be a finite number in (0, 1]"),
        (
            "[policy]\nvalidation_fraction = 1\n",
            "validation_fraction must be a finite number in (0, 1)",
        ),
        (
            "[features]\nlateness_days = inf\n",
            "[features] lateness_days must be a finite number in [0, 3650], got inf",
        ),
        (
            "[features]\nlabel_delay_days = -1\n",
            "label_delay_days must be a finite number in [0, 3650]",
        ),
        (
            "[thresholds]\nreview = true\n",
            '[thresholds] review must be a finite number in [0, 1] or "off", got True',
        ),
        (
            "[thresholds]\nblock = -inf\n",
            '[thresholds] block must be a finite number in [0, 1] or "off", got -inf',
        ),
        (
            "[thresholds]\nreview = 0.95\n",
            "[thresholds] review (0.95) must not be above block (0.9)",
        ),
        ("[columns]\nuser_id = 5\n", "[columns] user_id must be a non-empty string, got 5"),
        ("[columns]\nuser_id = ''\n", "[columns] user_id must be a non-empty string, got ''"),
        ("[blocklists]\ncountries = 'KP'\n", "[blocklists] countries must be an array of strings"),
        ("[blocklists]\nusers = ['u1', 7]\n", "must hold strings (quote ids), got 7 at position 2"),
        ("rules = 5\n", "[[rules]] must be an array of tables, got 5"),
        ("rules = [5]\n", "[[rules]] entry 1 must be a table, got 5"),
        (
            '[[rules]]\nname = ["a"]\nwhen = "amount > 1"\naction = "BLOCK"\n',
            "[[rules]] entry 1: name must be a non-empty string, got an array of 1 value",
        ),
        (
            '[[rules]]\nname = "x"\nwhen = 5\naction = "BLOCK"\n',
            "rule 'x': when must be a non-empty",
        ),
        ('[[rules]]\nname = "x"\nwhen = "amount > 1"\n', "rule 'x': needs action"),
        (
            '[[rules]]\nname = "x"\nwhen = "amount > 1"\naction = "BLOCK"\nacton = "x"\n',
            "rule 'x': unknown key 'acton' (did you mean 'action'?)",
        ),
        (
            '[[rules]]\nname = "x"\nwhen = "a"\naction = "BLOCK"\n'
            '[[rules]]\nname = "x"\nwhen = "b"\naction = "BLOCK"\n',
            "rule 'x' is defined twice in one file",
        ),
        (
            "[policy]\nreview_budget = 10\n",
            "[policy] unknown key 'review_budget' (did you mean 'review_budget_per_day'?); "
            "expected one of block_cost, block_precision, review_budget_per_day, review_cost, "
            "validation_fraction",
        ),
        ("[threshold]\nreview = 0.2\n", "unknown table [threshold] (did you mean [thresholds]?)"),
        ("[extras]\nx = 1\n", "unknown table [extras]; expected one of [blocklists], [columns]"),
        ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "arrays or tables nested too deeply"),
        ("x = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n", "nested too deeply"),
        ("x = " + "9" * 5_000 + "\n", "a number too long to read"),
        (
            "[policy]\nreview_budget_per_day = 0x" + "f" * 5_000 + "\n",
            "must be a finite number >= 1, got an integer of 20,000 bits",
        ),
        ("x = {a = 1, " + "b." * 40 + "c = 2}\n", "line 1: a dotted key of more than 32 parts"),
        ("a." * 20_000 + "b = 1\n", "line 1: a dotted key of more than 32 parts"),
        ("\n[" + "a." * 20_000 + "b]\n", "line 2: a dotted key of more than 32 parts"),
    ],
)
def test_each_bad_value_is_one_clear_error_naming_its_key(tmp_path, text, message) -> None:
    assert message in refusal(tmp_path, text)


def test_huge_values_are_never_echoed_whole(tmp_path) -> None:
    name = "n" * 1_000_000
    message = refusal(tmp_path, f'[[rules]]\nname = "{name}"\nwhen = "a"\naction = "BLOCK"\n')
    assert "name must be at most 200 characters, got 'nnnn" in message
    assert "(1,000,000 characters)" in message
    message = refusal(tmp_path, f'[columns]\n"{name}" = "x"\n')
    assert "[columns] unknown key 'nnnn" in message and "(1,000,000 characters)" in message


def test_a_deep_dotted_key_is_refused_before_tomllib_sees_it(tmp_path) -> None:
    """tomllib takes 6 s and 1.5 GB on this 40 KB line (quadratic in the key's parts)."""
    started = time.perf_counter()
    refusal(tmp_path, "a." * 20_000 + "b = 1\n")
    assert time.perf_counter() - started < 2.0  # about 1 ms here


def test_the_long_key_scan_is_linear_and_only_looks_at_keys(tmp_path) -> None:
    word = "x" * 1_000_000  # one long word: quadratic backtracking would never end
    dots = "'.' " * 50_000  # quoted dots, in a comment and a string: not keys
    commas = "[" + ", ".join(["1.5"] * 50_000) + "]"  # a key may start after a comma
    path = tmp_path / "fraud.toml"
    path.write_text(f'# {dots}\n[columns]\nuser_id = "{word} {dots}"\nx = {commas}\n')
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="unknown key 'x'"):
        load_config(path)
    assert time.perf_counter() - started < 5.0  # about 0.3 s here


def test_oversized_and_unreadable_files_are_config_errors(tmp_path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_BYTES)
    with pytest.raises(ConfigError, match="larger than 8 MiB"):
        load_config(big)
    with pytest.raises(ConfigError, match="larger than 8 MiB"):
        load_config("/dev/zero")  # would otherwise read forever
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path)
    (tmp_path / "latin1.toml").write_bytes(b'[columns]\nuser_id = "\xe9"\n')
    with pytest.raises(ConfigError, match="not valid TOML: not UTF-8"):
        load_config(tmp_path / "latin1.toml")


def test_valid_files_still_load(tmp_path) -> None:
    path = tmp_path / "fraud.toml"
    path.write_text(
        "[policy]\nreview_budget_per_day = 20\nblock_precision = 1\n"
        "[features]\nlabel_delay_days = 0\nlateness_days = 3650\n"
        "[thresholds]\nreview = 0.3\nblock = 0.3\n"
        '[blocklists]\ncountries = ["kp"]\n'
        '[[rules]]\nname = "card_testing_burst"\nwhen = "False"\naction = "review"\n'
        "description = ''\n"
    )
    config = load_config(path)
    assert config.policy.review_budget_per_day == 20 and config.store.lateness == 3650 * 86400


def _defaults() -> tuple[dict, str]:
    import tomllib

    text = resources.files("fraudcli").joinpath("defaults/fraud.toml").read_text("utf-8")
    return tomllib.loads(text), text


def test_the_schema_is_the_shipped_defaults_and_their_comments() -> None:
    """Every key the schema allows is documented in the shipped fraud.toml, and the defaults
    themselves pass the schema."""
    data, text = _defaults()
    check_config(data)
    assert set(data) == set(SCHEMA)
    for section, spec in SCHEMA.items():
        keys = spec.keys if isinstance(spec, Table) else spec.item.keys
        for key in keys:
            if section == "columns":
                continue  # every schema field may be mapped: the comment shows three
            assert re.search(rf"\b{key}\b", text), (section, key)


def test_cli_names_the_key_and_exits_2(tmp_path, world, model_dir) -> None:
    bad = tmp_path / "fraud.toml"
    bad.write_text("[policy]\nreview_budget_per_day = inf\n")
    out = tmp_path / "keep.jsonl"
    result = CliRunner().invoke(
        app, ["score", str(world / "later.jsonl"), "--model", str(model_dir), "--config", str(bad)]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "[policy] review_budget_per_day must be a finite number >= 1, got inf" in result.stderr
    assert not out.exists()
    bad.write_text("blocklists = [1]\n")
    result = CliRunner().invoke(
        app, ["train", "--config", str(bad), "--model", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "[blocklists] must be a table" in result.stderr
