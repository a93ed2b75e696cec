"""The audit trail: each run names the bundle (its id) and the configuration (its hash) that
decided it, on stderr, in --json / --report outputs and beside -o FILE."""

from __future__ import annotations

import json
import platform
from importlib import metadata

from typer.testing import CliRunner

from fraudcli.bundle.model_bundle import bundle_id, inspect_bundle
from fraudcli.cli import app
from fraudcli.commands.audit import config_hash
from fraudcli.config.load import load_config

runner = CliRunner()


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_config_hash_is_of_the_merged_configuration(tmp_path):
    one, two = tmp_path / "one.toml", tmp_path / "two.toml"
    one.write_text("[thresholds]\nreview = 0.6\nblock = 0.95\n")
    two.write_text("# the same, written otherwise\n[thresholds]\nblock = 0.95\nreview   = 0.6\n")
    base = config_hash(load_config())
    assert config_hash(load_config()) == base and len(base) == 64
    assert config_hash(load_config(one)) == config_hash(load_config(two)) != base
    assert config_hash(load_config(mapping=["user_id=CUSTOMER"])) != base
    restated = tmp_path / "restated.toml"
    restated.write_text("[thresholds]\nreview = 0.5\n")  # the defaults' values, but they now
    assert config_hash(load_config(restated)) != base  # replace the bundle's thresholds


def test_a_trained_bundle_records_its_config_hash(model_dir):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["config_hash"] == config_hash(load_config())
    assert bundle_id(manifest) == manifest["checksum"][:12] == inspect_bundle(model_dir).id


def test_score_writes_a_sidecar_beside_its_output(world, model_dir, tmp_path):
    out = tmp_path / "decisions.jsonl"
    result = invoke("score", world / "later.jsonl", "--model", model_dir, "-o", out)
    assert result.exit_code == 0, result.output
    audit = json.loads((tmp_path / "decisions.jsonl.audit.json").read_text())
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert audit["command"] == "fraud score" and audit["arguments"]["output"] == str(out)
    assert audit["bundle"]["id"] == manifest["checksum"][:12]
    assert audit["bundle"]["manifest_sha256"] == manifest["checksum"]
    assert audit["bundle"]["signature"] == "unsigned"
    assert audit["config"] == {"sha256": config_hash(load_config()), "sources": ["defaults"]}
    counts = audit["counts"]
    assert counts["read"] == counts["written"] + counts["rejected"] == 3000
    assert sum(counts["decisions"].values()) == len(out.read_text().splitlines())
    assert audit["started"] <= audit["finished"]
    installed = {name: metadata.version(name) for name in ("fraudcli", "numpy", "pyarrow")}
    assert audit["versions"] == installed | {"python": platform.python_version()}
    ids = audit["bundle"]["id"], audit["config"]["sha256"][:12]
    line = f"audit: bundle {ids[0]} (unsigned) · config {ids[1]}"
    assert line in result.stderr and "decisions.jsonl.audit.json" in result.stderr


def test_no_sidecar_for_stdout(world, model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("score", world / "later.jsonl", "--model", model_dir)
    assert result.exit_code == 0, result.output
    assert "audit: bundle" in result.stderr and not list(tmp_path.iterdir())


def test_json_and_report_outputs_carry_the_audit(world, model_dir, tmp_path):
    expected = inspect_bundle(model_dir).id, config_hash(load_config())
    evaluation = invoke("evaluate", world / "later.jsonl", "--model", model_dir, "--json")
    assert evaluation.exit_code == 0, evaluation.output
    replay = invoke(
        "replay", world / "later.jsonl", "--model", model_dir, "--max", "--limit", "200",
        "--report", tmp_path / "r.json",
    )  # fmt: skip
    assert replay.exit_code == 0, replay.output
    current = ["--current", world / "later.jsonl", "--model", model_dir]
    drift = invoke("drift-report", *current, "--json", tmp_path / "d.json")
    assert drift.exit_code == 0, drift.output
    for command, data in (
        ("evaluate", json.loads(evaluation.stdout)),
        ("replay", json.loads((tmp_path / "r.json").read_text())),
        ("drift-report", json.loads((tmp_path / "d.json").read_text())),
    ):
        audit = data["audit"]
        assert audit["command"] == f"fraud {command}"
        assert (audit["bundle"]["id"], audit["config"]["sha256"]) == expected
    assert json.loads(evaluation.stdout)["audit"]["counts"]["read"] == 3000


def test_features_sidecar_names_the_config_and_no_bundle(world, tmp_path):
    out = tmp_path / "f.parquet"
    result = invoke("features", world / "later.jsonl", "-o", out)
    assert result.exit_code == 0, result.output
    audit = json.loads((tmp_path / "f.parquet.audit.json").read_text())
    assert audit["bundle"] is None and audit["config"]["sha256"] == config_hash(load_config())
    assert audit["counts"]["read"] == 3000


def test_usage_errors_come_before_the_bundle_is_looked_at(world, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./fraud-model here: a bundle check would say exit 4
    assert invoke("replay", world / "later.jsonl", "--loop").exit_code == 2
    assert invoke("drift-report", "--by", "month").exit_code == 2
    assert invoke("score", world / "later.jsonl").exit_code == 4
