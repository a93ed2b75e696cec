"""`fraud features` and `fraud simulate` end to end through Typer's CliRunner."""

from __future__ import annotations

import pyarrow.parquet as pq

from fraudcli.features.spec import FEATURE_NAMES
from tests.helpers import jsonl, run


def test_features_table(world, tmp_path):
    out = tmp_path / "features.parquet"
    result = run("features", world / "later.jsonl", "-o", out)
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column_names[:3] == ["transaction_id", "user_id", "timestamp"]
    assert table.column_names[3:-1] == list(FEATURE_NAMES) and table.column_names[-1] == "is_fraud"
    assert table.num_rows == 3000


def test_features_list():
    result = run("features", "--list")
    assert result.exit_code == 0
    names = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert names == list(FEATURE_NAMES)


def test_simulate_writes_labelled_data(tmp_path):
    out = tmp_path / "sim.jsonl"
    result = run("simulate", "-n", 500, "--seed", 3, "-o", out)
    assert result.exit_code == 0, result.output
    rows = jsonl(out.read_text())
    assert len(rows) == 500 and {"transaction_id", "is_fraud"} <= set(rows[0])
