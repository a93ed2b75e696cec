"""`fraud train`, `fraud score`, `fraud evaluate` end to end through Typer's CliRunner: outputs
are checked record by record."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq

from fraudcli.features.spec import FEATURE_NAMES
from tests.helpers import jsonl, run


def test_score_file_one_decision_per_record(world, model_dir):
    result = run("score", world / "later.jsonl", "--model", model_dir)
    assert result.exit_code == 0, result.output
    rows = jsonl(result.stdout)
    lines = (world / "later.jsonl").read_text().splitlines()
    assert [r["transaction_id"] for r in rows] == [json.loads(x)["transaction_id"] for x in lines]
    first = rows[0]
    assert set(first) >= {
        "transaction_id",
        "user_id",
        "timestamp",
        "amount",
        "fraud_probability",
        "decision",
        "reasons",
    }
    assert first["decision"] in {"ALLOW", "REVIEW", "BLOCK"}
    assert 0.0 <= first["fraud_probability"] <= 1.0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["timestamp"])
    flagged = [r for r in rows if r["decision"] != "ALLOW"]
    assert flagged and all(r["reasons"] for r in flagged)
    patterns = [json.loads(x).get("fraud_pattern") for x in lines]
    assert [r.get("fraud_pattern") for r in rows] == patterns  # extras pass through untouched
    assert any(patterns)
    assert f"read {len(lines):,} = written {len(lines):,} + rejected 0" in result.stderr


def test_score_stdin_with_bad_lines_accounts_for_every_record(world, model_dir, tmp_path):
    good = (world / "later.jsonl").read_text().splitlines()[:20]
    lines = good[:10] + ["{oops", "", good[3], '{"transaction_id": "x"}'] + good[10:]
    rejects = tmp_path / "rejects.jsonl"
    result = run("score", "--model", model_dir, "--rejects", rejects, input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert len(jsonl(result.stdout)) == 20
    bad = jsonl(rejects.read_text())
    assert [b["line"] for b in bad] == [11, 12, 13, 14]
    assert "malformed JSON" in bad[0]["reason"] and bad[1]["reason"] == "empty line"
    assert "duplicate transaction_id" in bad[2]["reason"]
    assert "missing required field" in bad[3]["reason"]
    assert "read 24 = written 20 + rejected 4" in result.stderr


def test_strict_stops_with_exit_code_3(world, model_dir):
    result = run("score", "--model", model_dir, "--strict", input="{bad\n")
    assert result.exit_code == 3
    assert "line 1: malformed JSON" in result.stderr and "Traceback" not in result.output


def test_score_with_features_to_parquet(world, model_dir, tmp_path):
    out = tmp_path / "decisions.parquet"
    result = run("score", world / "later.jsonl", "--model", model_dir, "--with-features", "-o", out)
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 3000 and set(FEATURE_NAMES) <= set(table.column_names)


def test_scoring_is_deterministic(world, model_dir):
    first = run("score", world / "later.jsonl", "--model", model_dir).stdout
    assert first == run("score", world / "later.jsonl", "--model", model_dir).stdout


def test_fresh_state_changes_history_features(world, model_dir):
    args = ("score", world / "later.jsonl", "--model", model_dir, "--with-features")
    warm = jsonl(run(*args).stdout)[0]
    cold = jsonl(run(*args, "--fresh-state").stdout)[0]
    assert warm["user_txn_count_30d"] > 0 and cold["user_txn_count_30d"] == 0


def test_missing_model_is_exit_4_with_advice(tmp_path, world):
    result = run("score", world / "later.jsonl", "--model", tmp_path / "none")
    assert result.exit_code == 4 and "run `fraud train` first" in result.stderr


def test_evaluate_json(world, model_dir, tmp_path):
    out = tmp_path / "evaluation.json"
    args = ("evaluate", world / "later.jsonl", "--model", model_dir, "--json", "--report", out)
    result = run(*args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert json.loads(out.read_text()) == report and "AUC-ROC" in result.stderr
    assert report["metrics"]["n"] == 3000 and 0.5 < report["metrics"]["auc_roc"] <= 1.0
    assert report["run"]["read"] == 3000


def test_train_with_column_mapping_from_csv(tmp_path, world):
    import pyarrow.csv as pacsv

    table = pq.read_table(world / "train.parquet").rename_columns(
        [
            "TX_ID",
            "TX_DATETIME",
            "CUSTOMER_ID",
            "TX_AMOUNT",
            "TERMINAL_ID",
            "merchant_category",
            "country",
            "lat",
            "lon",
            "device_id",
            "channel",
            "TX_FRAUD",
            "fraud_pattern",
        ]
    )
    pacsv.write_csv(table, tmp_path / "train.csv")
    result = run(
        "train",
        tmp_path / "train.csv",
        "--model",
        tmp_path / "m",
        "--map",
        "transaction_id=TX_ID",
        "--map",
        "timestamp=TX_DATETIME",
        "--map",
        "user_id=CUSTOMER_ID",
        "--map",
        "amount=TX_AMOUNT",
        "--map",
        "merchant_id=TERMINAL_ID",
        "--map",
        "is_fraud=TX_FRAUD",
    )
    assert result.exit_code == 0, result.output
    assert "AUC-ROC" in result.stderr and (tmp_path / "m" / "manifest.json").is_file()


def test_score_streams_a_record_before_the_input_ends(world, model_dir):
    """A line piped in is decided while stdin is still open (no waiting for EOF)."""
    import select
    import subprocess
    import sys

    line = (world / "later.jsonl").read_text().splitlines()[0]
    command = [sys.executable, "-m", "fraudcli", "score", "--model", str(model_dir)]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as proc:
        proc.stdin.write((line + "\n").encode())
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no decision within 30 s while stdin stayed open"
        decision = json.loads(proc.stdout.readline())
        assert decision["transaction_id"] == json.loads(line)["transaction_id"]
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0


def test_score_and_features_reports_and_train_json(world, model_dir, tmp_path):
    """--report FILE writes the run's JSON (score and features keep stdout for data); train
    has --json too."""
    report = tmp_path / "score.json"
    result = run("score", world / "later.jsonl", "--model", model_dir, "--report", report)
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())
    assert summary["read"] == 3000 == summary["written"] + summary["rejected"]
    assert len(result.stdout.splitlines()) == summary["written"]  # stdout: decisions only
    features = tmp_path / "features.json"
    out = tmp_path / "f.parquet"
    result = run("features", world / "later.jsonl", "-o", out, "--report", features)
    assert result.exit_code == 0 and json.loads(features.read_text())["written"] == 3000
    result = run("train", world / "train.parquet", "--model", tmp_path / "m", "--json")
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["rows"]["validation"] > 0 and 0.5 < trained["metrics"]["auc_roc"] <= 1.0
