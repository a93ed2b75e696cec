"""`fraud train` end to end: the refit on every labelled row, thresholds carried over, a BLOCK
that cannot meet its policy switched off, and calibration in the reports."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fraudcli.bundle.model_bundle import load_bundle
from fraudcli.cli import app
from fraudcli.commands.train import train_file
from fraudcli.config.load import load_config
from fraudcli.features.from_parquet import clean_parquet_table
from fraudcli.features.store import InMemoryStore
from fraudcli.model.scorer import load_scorer
from fraudcli.scoring.load import open_bundle

DELAY = 7 * 86400.0


@pytest.fixture(scope="module")
def table(world):
    config = load_config()
    store = InMemoryStore(config.store)
    return clean_parquet_table(world / "train.parquet", config.columns, store, need_labels=True)


@pytest.fixture(scope="module")
def refitted(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("refit") / "model"
    return train_file(world / "train.parquet", config=load_config(), model_dir=out), out


@pytest.fixture(scope="module")
def first_only(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("first") / "model"
    config = load_config()
    return train_file(world / "train.parquet", config=config, model_dir=out, refit=False), out


def test_the_served_model_learnt_from_every_known_label(refitted, first_only, table):
    (result, out), (first, _) = refitted, first_only
    known = table.ts <= table.ts.max() - DELAY
    assert result.n_refit == int(known.sum()) > result.n_train
    served = load_scorer(load_bundle(out).model)
    assert all(sum(counts) == result.n_refit for counts in served.counts)
    alone = load_scorer(first.bundle.model)
    assert first.n_refit == 0 and all(sum(c) == first.n_train for c in alone.counts)
    assert served.edges == alone.edges  # the bins of the training slice, kept
    assert served.weights != alone.weights
    assert result.metrics == first.metrics  # the validation table is the first model's
    assert result.first_thresholds == first.thresholds


def test_thresholds_carry_over_by_alert_volume(refitted, first_only, table):
    (result, _), (first, _) = refitted, first_only
    held_out = table.ts > table.ts.max() - DELAY  # no label of these was learnt from
    X = table.X[held_out]
    old = load_scorer(first.bundle.model).proba(X)
    new = load_scorer(result.bundle.model).proba(X)
    for name in ("review", "block"):
        before, after = first.thresholds[name], result.thresholds[name]
        if before == "off":
            assert after == "off"
        else:
            assert (new >= after).sum() == (old >= before).sum() > 0, name


def test_the_refit_is_as_calibrated_on_a_later_period(refitted, world):
    _, out = refitted
    result = CliRunner().invoke(
        app, ["evaluate", str(world / "later.jsonl"), "--model", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["brier"] < metrics["brier_constant"]
    assert len(metrics["reliability"]) == 10 and metrics["ece"] < 0.01
    assert sum(b["n"] for b in metrics["reliability"]) == metrics["n"]
    rate = metrics["n_fraud"] / metrics["n"]
    assert abs(metrics["mean_probability"] / rate - 1) < 0.5


def test_train_reports_calibration_in_words_and_json(world, tmp_path):
    result = CliRunner().invoke(
        app, ["train", str(world / "train.parquet"), "--model", str(tmp_path / "m"), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"brier", "brier_constant", "ece", "reliability"} <= set(report["metrics"])
    assert report["fit"]["chosen_by"] == "validation log loss" and len(report["fit"]["grid"]) >= 3
    assert report["refit_rows"] > report["rows"]["train"]
    for words in ("Brier score", "expected calibration error", "reliability", "refitted on"):
        assert words in result.stderr, words


def test_a_policy_that_cannot_be_met_switches_the_models_block_off(world, tmp_path):
    """Labels shuffled: no score can block with 90% precision, so the model must not block
    at all (not block at a threshold some saturated score still reaches)."""
    data = pq.read_table(world / "train.parquet")
    shuffled = np.random.default_rng(0).permutation(data["is_fraud"].to_numpy())
    data = data.set_column(data.column_names.index("is_fraud"), "is_fraud", pa.array(shuffled))
    pq.write_table(data, tmp_path / "noise.parquet")
    out = tmp_path / "model"
    args = ["train", str(tmp_path / "noise.parquet"), "--model", str(out), "--C", "0.1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "the model does not block" in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["thresholds"]["block"] == "off"
    assert manifest["metrics"]["block_threshold"] == "off"
    assert "Infinity" not in (out / "manifest.json").read_text()
    pipeline = open_bundle(load_config(), out).pipeline
    assert pipeline.engine.thresholds.block is None
    assert "score>=block" not in pipeline.engine.decide(1.0, {}).reasons
