"""Champion and challenger: a second bundle judged on the same records and features."""

from __future__ import annotations

import json

import pytest

from fraudcli.bundle.model_bundle import bundle_id
from fraudcli.commands.evaluate import evaluate_file
from fraudcli.commands.train import train_file
from fraudcli.config.load import load_config
from tests.helpers import run


@pytest.fixture(scope="module")
def challenger(world, tmp_path_factory):
    """A worse model of the same data and store settings: C small, no refit."""
    path = tmp_path_factory.mktemp("challenger") / "model"
    train_file(world / "train.parquet", config=load_config(), model_dir=path, C=0.001,
               refit=False)  # fmt: skip
    return path


def test_the_challenger_s_fields_are_the_same_on_both_paths(world, model_dir, challenger):
    source = world / "later.jsonl"
    file = run("score", source, "--model", model_dir, "--shadow", challenger)
    pipe = run("score", "--model", model_dir, "--shadow", challenger, input=source.read_text())
    assert file.exit_code == pipe.exit_code == 0, file.output + pipe.output
    assert file.stdout == pipe.stdout
    rows = [json.loads(line) for line in file.stdout.splitlines()]
    alone = run("score", source, "--model", challenger)  # the same state: the same features
    theirs = [json.loads(line) for line in alone.stdout.splitlines()]
    assert [r["shadow_probability"] for r in rows] == [r["fraud_probability"] for r in theirs]
    assert [r["shadow_decision"] for r in rows] == [r["decision"] for r in theirs]
    assert list(rows[0])[-2:] == ["shadow_probability", "shadow_decision"]
    agree = sum(r["decision"] == r["shadow_decision"] for r in rows) / len(rows)
    assert f"{agree:.1%}" in file.stderr and "champion and challenger" in file.stderr


def test_evaluate_compares_both_on_the_labels(world, model_dir, challenger):
    options = {"config": load_config()}
    both = evaluate_file(world / "later.jsonl", model_dir=model_dir, shadow_dir=challenger,
                         **options)  # fmt: skip
    alone = evaluate_file(world / "later.jsonl", model_dir=challenger, **options)
    assert both.challenger.to_dict() == alone.metrics.to_dict()
    assert both.metrics.auc_roc > both.challenger.auc_roc - 0.05  # the champion is no worse
    report = both.to_dict()["challenger"]
    assert report["records"] == 3000 and 0.0 <= report["agreement"] <= 1.0


def test_a_challenger_of_other_store_settings_is_refused(world, model_dir, tmp_path):
    other = tmp_path / "fraud.toml"
    other.write_text("[features]\nlabel_delay_days = 3\n")
    trained = run("train", world / "train.parquet", "--model", tmp_path / "m", "--config", other)
    assert trained.exit_code == 0, trained.output
    result = run("score", world / "later.jsonl", "--model", model_dir, "--shadow", tmp_path / "m")
    assert result.exit_code == 4 and "other feature-store settings" in result.stderr


def test_the_pinned_bundle_is_the_champion_not_the_challenger(world, model_dir, challenger):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    pin = bundle_id(manifest)
    args = ("score", world / "later.jsonl", "--model", model_dir, "--shadow", challenger)
    assert run(*args, "--expect-bundle", pin).exit_code == 0
