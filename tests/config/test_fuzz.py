"""Fuzz: `fraud score` under fraud.toml files mutated from the shipped one never crashes.

Each example starts from `fraudcli/defaults/fraud.toml`, applies one to three mutations (a value
of the wrong type or not finite, a nested array 100,000 deep, an unknown or near-miss key, a
huge string, a removed key, a hostile rule, a cut or corrupted text) and scores a small JSONL
file with it through the CLI. It asserts what the README promises: no traceback, an exit code
from "Exit codes" (here 0, or 2 for a configuration the checks refuse; 1 would be a crash), and
on success `read = written + rejected`, with one output line per written record.
"""

from __future__ import annotations

import copy
import json
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fraudcli.cli import app

SHIPPED = tomllib.loads(
    resources.files("fraudcli").joinpath("defaults/fraud.toml").read_text("utf-8")
)
runner = CliRunner()


@dataclass(frozen=True)
class Raw:
    """TOML text written as it is (what a value cannot express: 100,000 nested arrays)."""

    text: str


def toml_value(value: object) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)  # inf, -inf, 1e+300 are TOML
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_document(doc: dict) -> str:
    """Top-level values first, then tables, then arrays of tables (TOML's only constraint)."""
    plain = {k: v for k, v in doc.items() if not isinstance(v, dict) and not _tables(v)}
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in plain.items()]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    for key, tables in doc.items():
        if _tables(tables):
            for table in tables:
                lines.append(f"[[{json.dumps(key)}]]")
                lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _tables(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, dict) for t in value)


def test_the_writer_round_trips_the_shipped_file() -> None:
    assert tomllib.loads(toml_document(SHIPPED)) == SHIPPED


# --- mutations --------------------------------------------------------------------------------

NESTED = [
    Raw("[" * 100_000 + "]" * 100_000),
    Raw("[" * 900 + "]" * 900),
    Raw("{a = " * 2_000 + "1" + "}" * 2_000),
    Raw("9" * 5_000),
    Raw("0x" + "f" * 3_000),
]
SCALARS = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -0.0, 0.5, 2, 0]),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["x" * 1_000_000, "[/x]", "REVIEW", "BLOCK", "ALLOW", ""]),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(NESTED),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=4,
)
WHENS = st.one_of(
    st.sampled_from(
        [
            "'a' * 100000000000 == 'x'",
            "merchant_category * 1000000000 == 'x'",
            "not " * 10_000 + "amount > 1",
            "-" * 3_000 + "amount > 1",
            "lat+" * 700 + "lat > 1",
            "amount > (" + "1" * 100_000,
            "__import__('os').system('true')",
            "amount > 1 and country == 'US'",
            "amount / 0 > 1",
            "country in [" + ", ".join(["'KP'"] * 900) + "]",
            "False",
        ]
    ),
    st.text(max_size=30),
)


def _near_miss(key: str) -> st.SearchStrategy[str]:
    return st.sampled_from([key[:-1], key + "s", key.replace("_", "-"), key.upper()])


@st.composite
def mutated_documents(draw) -> str:
    doc = copy.deepcopy(SHIPPED)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(["value", "remove", "unknown", "section", "rule", "duplicate_rule"])
        )
        section = draw(st.sampled_from(sorted(doc)))
        table = doc[section]
        if kind == "section":  # a whole table replaced (`features = 5`, `blocklists = [1]`)
            doc[section] = draw(VALUES)
        elif kind == "rule" and _tables(doc.get("rules")):
            rule = draw(st.sampled_from(doc["rules"]))
            key = draw(st.sampled_from(["name", "when", "action", "description"]))
            rule[key] = draw(WHENS if key == "when" else VALUES)
        elif kind == "duplicate_rule" and _tables(doc.get("rules")):
            doc["rules"].append(copy.deepcopy(doc["rules"][0]))
        elif isinstance(table, dict) and table:
            key = draw(st.sampled_from(sorted(table)))
            if kind == "value":
                table[key] = draw(VALUES)
            elif kind == "remove":
                del table[key]
            else:
                table[draw(_near_miss(key) | st.text(min_size=1, max_size=8))] = draw(VALUES)
        elif kind == "unknown":
            doc[draw(_near_miss(section))] = draw(VALUES)
    text = toml_document(doc)
    if draw(st.integers(0, 9)) == 0:  # now and then, corrupt the text itself
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "=", "[", '"', "\x00", "é", "\n[[rules]]\n"]))
    return text


# --- the property -----------------------------------------------------------------------------

SUMMARY = re.compile(r"read ([\d,]+) = written ([\d,]+) \+ rejected ([\d,]+)")


@pytest.fixture(scope="module")
def tiny(world, tmp_path_factory):
    """20 good records and 3 bad lines."""
    lines = (world / "later.jsonl").read_text().splitlines()[:20]
    path = tmp_path_factory.mktemp("fuzz") / "tiny.jsonl"
    path.write_text("\n".join([*lines[:5], "{oops", lines[2], "[]", *lines[5:]]) + "\n")
    return path


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=mutated_documents())
def test_score_under_a_mutated_fraud_toml_never_crashes(tiny, model_dir, tmp_path_factory, text):
    config = tmp_path_factory.mktemp("cfg") / "fraud.toml"
    config.write_text(text, encoding="utf-8")
    result = runner.invoke(
        app, ["score", str(tiny), "--model", str(model_dir), "--config", str(config)]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        assert result.stderr.strip().startswith("error:") and len(result.stderr) < 2_000
        return
    read, written, rejected = (
        int(x.replace(",", "")) for x in SUMMARY.search(result.stderr).groups()
    )
    assert (read, rejected) == (23, 3) and read == written + rejected
    assert len(result.stdout.splitlines()) == written
