"""`fraud label` and `fraud state show` through the CLI, and `fraud train --labels`."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudcli.bundle.model_bundle import load_bundle
from fraudcli.commands.train import train_file
from fraudcli.config.load import load_config
from fraudcli.state.directory import read_state
from tests.helpers import run


@pytest.fixture
def scored(world, model_dir, tmp_path):
    """The later sample's first 500 records scored into a state; their rows."""
    rows = [json.loads(line) for line in (world / "later.jsonl").read_text().splitlines()[:500]]
    source = tmp_path / "day.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = run("score", source, "--model", model_dir, "--state", tmp_path / "s",
                 "-o", tmp_path / "out.jsonl")  # fmt: skip
    assert result.exit_code == 0, result.output
    return rows


def test_label_applies_changes_and_rejects_with_reasons(scored, model_dir, tmp_path):
    legit = [row for row in scored if row.get("is_fraud") == 0]
    a, b, c, d = (row["transaction_id"] for row in legit[:4])
    lines = [
        "tx,CHARGEBACK,label_time",
        f"{a},1,",  # changed: it was labelled 0 inline
        f"{a},1,2026-03-01T00:00:00Z",  # the same again: unchanged
        f"{b},0,",  # the same as inline: unchanged
        "nope,1,",  # unknown
        f"{c},maybe,",  # a bad value
        f"{d},1,",  # two different labels in one file: both rejected
        f"{d},0,",
    ]
    labels = tmp_path / "chargebacks.csv"
    labels.write_text("\n".join(lines) + "\n")
    result = run("label", labels, "--state", tmp_path / "s", "--model", model_dir,
                 "--map", "transaction_id=tx", "--map", "is_fraud=CHARGEBACK",
                 "--rejects", tmp_path / "r.jsonl", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("read", "applied", "changed", "unchanged", "unknown")} == {
        "read": 7,
        "applied": 0,
        "changed": 1,
        "unchanged": 2,
        "unknown": 1,
    }
    assert summary["rejected"] == 3
    rejects = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [5, 6, 7, 8]
    assert (
        rejects[0]["reason"].startswith("unknown transaction_id") and rejects[0]["raw"] == "nope,1,"
    )
    assert "'is_fraud' must be 0 or 1" in rejects[1]["reason"]
    assert "two different labels" in rejects[2]["reason"] == rejects[3]["reason"]
    state = read_state(tmp_path / "s")
    ids = state.tables["transactions"].to_pylist()
    labelled = {row["transaction_id"]: row for row in ids}
    assert labelled[a]["is_fraud"] == 1 and labelled[a]["label_arrival"] == state.newest
    assert labelled[d]["is_fraud"] == 0 and labelled[d]["label_arrival"] is None
    assert state.manifest["checkpoint"]["command"] == "label"


def test_state_show_tells_what_a_state_holds(scored, model_dir, tmp_path):
    result = run("state", "show", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    state = read_state(tmp_path / "s")
    assert shown["source"] == f"state {tmp_path / 's'}"
    assert shown["transactions"] == state.tables["transactions"].num_rows > 500
    assert shown["newest"] == max(row["timestamp"] for row in scored)
    assert shown["checkpoint"]["records"] == 500 and shown["disk_bytes"] > 0
    bundle = run("state", "show", "--model", model_dir, "--json")
    assert bundle.exit_code == 0 and json.loads(bundle.stdout)["source"].startswith("model bundle")
    assert "users" in run("state", "show", tmp_path / "s").stderr


def test_a_label_file_that_is_not_there_or_a_state_in_use(model_dir, tmp_path):
    result = run("label", tmp_path / "none.csv", "--state", tmp_path / "s", "--model", model_dir)
    assert result.exit_code == 3 and "no such file" in result.stderr


def _unlabelled_world(world, tmp_path, late: bool):
    table = pq.read_table(world / "train.parquet")
    ids, fraud = table["transaction_id"].to_pylist(), table["is_fraud"].to_pylist()
    ts = table["timestamp"].cast(pa.int64()).to_numpy() / 1000
    data = tmp_path / "history.parquet"
    pq.write_table(table.drop_columns(["is_fraud"]), data)
    labels = tmp_path / "labels.jsonl"
    with open(labels, "w") as out:
        for tid, label, t in zip(ids, fraud, ts.tolist(), strict=True):
            if label:  # a chargeback; no line for the legitimate ones
                when = {"label_time": t + 20 * 86400} if late else {}
                out.write(json.dumps({"transaction_id": tid, "is_fraud": 1} | when) + "\n")
    return data, labels


def test_train_with_labels_before_t_plus_d_is_training_with_inline_labels(world, tmp_path):
    config = load_config()
    data, labels = _unlabelled_world(world, tmp_path, late=False)
    inline = train_file(world / "train.parquet", config=config, model_dir=tmp_path / "a")
    joined = train_file(data, config=config, model_dir=tmp_path / "b", labels_path=labels)
    assert joined.bundle.thresholds == inline.bundle.thresholds
    assert joined.bundle.model["edges"] == inline.bundle.model["edges"]

    def weights(model: dict) -> np.ndarray:
        return np.concatenate([[model["intercept"]], *map(np.asarray, model["weights"])])

    got, want = weights(joined.bundle.model), weights(inline.bundle.model)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_train_with_late_labels_sees_them_from_their_label_time(world, tmp_path):
    config = load_config()
    data, labels = _unlabelled_world(world, tmp_path, late=True)
    result = train_file(data, config=config, model_dir=tmp_path / "m", labels_path=labels)
    state = load_bundle(tmp_path / "m").state
    assert state["label_changes"].num_rows > 0  # kept for lookups before their arrival
    assert result.metrics.n_fraud > 0
