"""`fraud replay` through Typer's CliRunner on a fake pipeline (no model needed): the report,
looping, the shipped sample by default, the SLO exit code, bad options. The run on a real
bundle is in tests/replay/test_run.py."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import fraudcli.cli.replay_cmd  # noqa: F401  (registers the command)
from fraudcli.bundle.model_bundle import BundleInfo
from fraudcli.cli.app import app
from fraudcli.commands import session
from fraudcli.replay import run as replay_run
from tests.helpers import FakePipeline, FakeStore

runner = CliRunner()


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setattr(replay_run, "bundle_pipeline", lambda *a: FakePipeline(FakeStore()))
    fake = BundleInfo("fake", "0" * 64, False, False, None, {"review": 0.5, "block": 0.9})
    monkeypatch.setattr(session, "inspect_bundle", lambda *a: fake)  # no bundle to verify
    lines = [
        json.dumps({"transaction_id": f"t{i}", "timestamp": 1.7e9 + i, "user_id": "u",
                    "amount": 10.0 + i})
        for i in range(300)
    ]  # fmt: skip
    lines.insert(7, '{"transaction_id": "bad", "user_id": "u"}')
    lines.insert(9, lines[0])  # a duplicate id
    path = tmp_path / "txns.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_replay_writes_the_report_and_a_table(data, tmp_path):
    out, rejects = tmp_path / "r.json", tmp_path / "rejects.jsonl"
    args = ["replay", str(data), "--tps", "2000", "--report", str(out), "--rejects", str(rejects)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert (report["read"], report["decided"], report["rejected"]) == (302, 300, 2)
    assert report["read"] == report["decided"] + report["rejected"]  # nothing lost
    assert len(rejects.read_text().splitlines()) == 2
    assert report["target_tps"] == 2000.0
    assert "achieved" in result.output and "p99.9" in result.output


def test_replay_loops_with_limit_and_speed(data, tmp_path):
    out = tmp_path / "r.json"
    args = ["replay", str(data), "--speed", "500", "--loop", "--limit", "450"]
    result = runner.invoke(app, [*args, "--report", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["decided"] == 450 and report["loops"] == 2 and report["mode"] == "speed"


def test_no_data_replays_the_shipped_sample(data, tmp_path):
    out = tmp_path / "r.json"
    result = runner.invoke(
        app, ["replay", "--tps", "2000", "--duration", "0.3", "--report", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["decided"] == 600 and report["read"] >= 600  # the sample, read before the clock


def test_slo_breach_exits_5(data):
    result = runner.invoke(app, ["replay", str(data), "--tps", "2000", "--slo-p99-ms", "1e-6"])
    assert result.exit_code == 5
    assert "above the SLO" in result.output


@pytest.mark.parametrize(
    "extra", [["--inject-latency", "five"], ["--tps", "10", "--max"], ["--loop"]]
)
def test_bad_options_exit_2(data, extra):
    result = runner.invoke(app, ["replay", str(data), *extra])
    assert result.exit_code == 2, result.output


def test_help_documents_latency_and_percentiles():
    result = runner.invoke(app, ["replay", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Example: fraud replay" in text
    assert "nearest rank" in text and "not JSON parsing" in text
