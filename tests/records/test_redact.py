"""`--redact`: no identifier of a rejected record reaches a rejects file or the terminal."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from fraudcli.cli import app
from fraudcli.records.redact import Redactor
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import ColumnMap

runner = CliRunner()
KEY = b"k" * 32
HASH = re.compile(r"#[0-9a-f]{16}")
SECRETS = ("tx-secret", "alice-77", "bob-88", "dev-xyz", "4111", "carol")
GOOD = {
    "transaction_id": "tx-ok",
    "user_id": "dave",
    "timestamp": "2026-02-10T00:00:02Z",
    "amount": 7.0,
    "is_fraud": 0,
}
LINES = [
    json.dumps(GOOD),
    json.dumps(GOOD | {"transaction_id": "tx-secret-1", "user_id": "alice-77",
                       "card_number": "4111 1111 1111 1111"}),
    json.dumps(GOOD | {"transaction_id": "tx-secret-1", "user_id": "alice-77"}),  # a duplicate
    json.dumps(GOOD | {"transaction_id": "tx-secret-2", "user_id": "bob-88",
                       "timestamp": "not a time", "device_id": "dev-xyz"}),
    '{"transaction_id": "tx-secret-3", "user_id": "carol", broken',
]  # fmt: skip


def test_identifier_fields_and_card_numbers_are_hashed_in_raw_json():
    redactor = Redactor(KEY, "test", ColumnMap.from_dict({"user_id": "CUSTOMER"}))
    raw = json.dumps(
        {
            "transaction_id": "tx-1",
            "CUSTOMER": "alice",
            "amount": 5,
            "extra": {"customerEmail": "a@b.c", "cardPan": 4111111111111111},
            "note": "paid by 4111-1111-1111-1111, ref 1234567890123",
        }
    )
    out = json.loads(redactor.raw(raw))
    assert out["transaction_id"] == redactor.hash("tx-1") and out["CUSTOMER"] == redactor.hash(
        "alice"
    )
    assert out["amount"] == 5  # not an identifier
    assert out["extra"]["customerEmail"] == redactor.hash("a@b.c")
    assert out["extra"]["cardPan"] == redactor.hash("4111111111111111")
    assert out["note"] == f"paid by {redactor.hash('4111111111111111')}, ref 1234567890123"


@pytest.mark.parametrize("raw", ["{broken", "[1, 2]", "a,b,c", "", '"tx-1"', "[" * 5000])
def test_raw_text_that_is_not_a_json_object_is_dropped(raw):
    assert Redactor(KEY, "test").raw(raw) == ""


def test_reasons_keep_field_names_and_punctuation_but_not_values():
    redactor = Redactor(KEY, "test")
    assert redactor.text("missing required field 'amount'") == "missing required field 'amount'"
    assert redactor.text("Expecting ',' delimiter") == "Expecting ',' delimiter"
    text = redactor.text('line 3: duplicate transaction_id "o\'hara" (--strict)')
    assert "o'hara" not in text and redactor.hash("o'hara") in text


def test_the_same_value_gets_the_same_hash_in_reason_and_raw():
    redactor = Redactor(KEY, "test")
    raw = json.dumps({"transaction_id": "tx-9", "user_id": "u"})
    reject = redactor.reject(Reject(4, "duplicate transaction_id 'tx-9'", raw))
    assert reject.line == 4
    assert reject.reason == f"duplicate transaction_id '{redactor.hash('tx-9')}'"
    assert json.loads(reject.raw)["transaction_id"] == redactor.hash("tx-9")


def test_the_key_comes_from_the_environment_or_is_random_per_run():
    env = {"FRAUD_REDACT_KEY": "s" * 40}
    first, second = Redactor.for_run(ColumnMap(), env), Redactor.for_run(ColumnMap(), env)
    assert first.hash("alice") == second.hash("alice") and first.source == "FRAUD_REDACT_KEY"
    assert Redactor.for_run(ColumnMap(), {}).hash("alice") != first.hash("alice")
    assert Redactor.for_run(ColumnMap(), {}).hash("a") != Redactor.for_run(ColumnMap(), {}).hash(
        "a"
    )


@pytest.fixture
def bad(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    return path


def commands(bad, model_dir, tmp_path) -> dict[str, list]:
    model = ["--model", model_dir]
    return {
        "score file": ["score", bad, *model],
        "score pipe": ["score", *model],
        "evaluate": ["evaluate", bad, *model],
        "replay": ["replay", bad, *model, "--max", "--limit", "1"],
        "features": ["features", bad, "-o", tmp_path / "f.parquet"],
        "train": ["train", bad, "--model", tmp_path / "m"],  # too little data: exit 3
        "drift-report": ["drift-report", "--current", bad, *model],
    }


@pytest.mark.parametrize(
    "name", ["score file", "score pipe", "evaluate", "replay", "features", "train", "drift-report"]
)
def test_no_identifier_reaches_the_rejects_file_or_the_terminal(name, bad, model_dir, tmp_path):
    args = commands(bad, model_dir, tmp_path)[name]
    rejects = tmp_path / "rejects.jsonl"
    stdin = bad.read_text() if name == "score pipe" else None
    plain = runner.invoke(app, [str(a) for a in [*args, "--rejects", rejects]], input=stdin)
    assert plain.exit_code in (0, 3), plain.output
    assert "tx-secret-2" in rejects.read_text()  # without --redact, as before
    result = runner.invoke(
        app, [str(a) for a in [*args, "--rejects", rejects, "--redact"]], input=stdin
    )
    assert result.exit_code == plain.exit_code, result.output
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [r["line"] for r in written] == [3, 4, 5]
    unhashed = HASH.sub("#", rejects.read_text() + result.stderr)  # a hash may hold "4111"
    for secret in SECRETS:
        assert secret not in unhashed, secret
    assert written[2]["raw"] == ""  # malformed JSON: dropped
    assert json.loads(written[1]["raw"])["timestamp"] == "not a time"  # the rest is kept
    assert "redacted (a random key for this run)" in result.stderr or name == "train"


def test_strict_message_is_redacted(bad, model_dir):
    args = ["score", str(bad), "--model", str(model_dir), "--strict", "--redact"]
    result = runner.invoke(app, args)
    assert result.exit_code == 3
    assert "duplicate transaction_id '#" in result.stderr and "tx-secret" not in result.stderr
