"""Every numeric option is finite and in its stated range, checked by Typer: exit 2 naming it.

Issue 11 item 13: `replay --tps inf` (ZeroDivisionError), `--tps 1e-300`, `--duration inf`,
`--warmup nan`, `--inject-latency nan@0.5` / `inf@0.5` / `1e400@1`, `--slo-p99-ms nan` or `-1`
(accepted), `--inject-latency 1e9@0.5` (hangs); `simulate --days inf`, `--start 2026-13-45`
(tracebacks); `drift-report --psi-warn nan`, negative, or above `--psi-drift` (accepted).
"""

from __future__ import annotations

import math

import pytest
import typer
from typer.testing import CliRunner

from fraudcli import ranges
from fraudcli.cli import app
from fraudcli.drift.verdict import DriftThresholds
from fraudcli.errors import UsageError
from fraudcli.model.logreg import LogisticRegression
from fraudcli.replay.driver import ReplayOptions
from fraudcli.replay.faults import Fault
from fraudcli.simulation.simulate import simulate

runner = CliRunner()

REPLAY_BAD = [
    ("--tps", "inf"),
    ("--tps", "1e-300"),
    ("--tps", "nan"),
    ("--tps", "0"),
    ("--speed", "inf"),
    ("--speed", "1e-300"),
    ("--duration", "inf"),
    ("--duration", "0"),
    ("--duration", "1e400"),
    ("--warmup", "nan"),
    ("--warmup", "-1"),
    ("--deadline-ms", "nan"),
    ("--deadline-ms", "-5"),
    ("--slo-p99-ms", "nan"),
    ("--slo-p99-ms", "-1"),
    ("--slo-p99-ms", "inf"),
    ("--inject-latency", "nan@0.5"),
    ("--inject-latency", "inf@0.5"),
    ("--inject-latency", "1e400@1"),
    ("--inject-latency", "1e9@0.5"),
    ("--inject-latency", "5@nan"),
    ("--inject-latency", "5@1.5"),
    ("--inject-latency", "-1@0.5"),
    ("--limit", "0"),
    ("--limit", str(10**13)),
]


def _refused(result, option: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"'{option}'" in result.output or option in result.output


@pytest.mark.parametrize(("option", "value"), REPLAY_BAD)
def test_replay_refuses_non_finite_or_out_of_range_options(world, model_dir, option, value):
    args = ["replay", world / "later.jsonl", "--model", model_dir, "--limit", "20"]
    args += ["--tps", "1000"] if option not in ("--tps", "--speed") else []
    result = runner.invoke(app, [*map(str, args), option, value])
    _refused(result, option)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--days", "inf"], "--days"),
        (["--days", "nan"], "--days"),
        (["--days", "0"], "--days"),
        (["--start", "2026-13-45"], "--start"),
        (["--start", "yesterday"], "--start"),
        (["--start", "1999-12-31"], "--start"),
        (["--start", "2099-12-01", "--days", "60"], "--days"),  # past the format's last year
        (["-n", "0"], "-n"),
        (["-n", str(10**10)], "-n"),
    ],
)
def test_simulate_refuses_bad_periods_and_sizes(tmp_path, args, option):
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["simulate", "-n", "10", "-o", str(out), *args])
    _refused(result, option)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--psi-warn", "nan"], "--psi-warn"),
        (["--psi-warn", "-0.1"], "--psi-warn"),
        (["--psi-drift", "inf"], "--psi-drift"),
        (["--psi-warn", "0.3"], "--psi-warn"),  # above the default --psi-drift 0.25
        (["--psi-warn", "0.2", "--psi-drift", "0.1"], "--psi-drift"),
    ],
)
def test_drift_report_refuses_bad_psi_thresholds(world, model_dir, args, option):
    result = runner.invoke(
        app,
        ["drift-report", "--current", str(world / "later.jsonl"), "--model", str(model_dir)] + args,
    )
    _refused(result, option)


@pytest.mark.parametrize("value", ["inf", "nan", "0", "1e-9", "1e300"])
def test_train_refuses_a_bad_C(tmp_path, value):
    model = tmp_path / "model"
    result = runner.invoke(app, ["train", "--C", value, "--model", str(model)])
    _refused(result, "--C")
    assert not model.exists()


def test_good_values_pass_and_the_help_states_each_range():
    result = runner.invoke(app, ["replay", "--help"])
    text = " ".join(result.output.split())
    for bounds in (ranges.TPS, ranges.DURATION, ranges.SLO_P99_MS, ranges.DEADLINE_MS):
        assert str(bounds) in text
    result = runner.invoke(app, ["simulate", "--help"])
    assert str(ranges.SIMULATE_DAYS) in " ".join(result.output.split())


def test_every_float_option_of_every_command_is_checked():
    """The mechanism, not a list: a new float option without a range check fails here."""
    group = typer.main.get_command(app)
    floats = [
        (name, param.name)
        for name, command in group.commands.items()
        for param in command.params
        if param.type.name == "float"
    ]
    assert len(floats) >= 10
    unchecked = [
        (name, param.name)
        for name, command in group.commands.items()
        for param in command.params
        if param.type.name == "float" and param.callback is None
    ]
    assert unchecked == []


def test_the_library_checks_the_same_ranges():
    """Python callers get the same refusals as the command line."""
    for options in (
        ReplayOptions(tps=math.inf),
        ReplayOptions(tps=1e-300),
        ReplayOptions(tps=10.0, duration=math.inf),
        ReplayOptions(tps=10.0, warmup=math.nan),
        ReplayOptions(tps=10.0, deadline_ms=math.nan),
        ReplayOptions(tps=10.0, limit=0),
    ):
        with pytest.raises(UsageError):
            options.check()
    for text in ("nan@0.5", "inf@0.5", "1e400@1", "1e9@0.5", "5@nan"):
        with pytest.raises(UsageError, match="--inject-latency"):
            Fault.parse(text)
    assert Fault.parse("60000@1") == Fault(60_000.0, 1.0)
    for warn, drift in ((math.nan, 0.25), (-1.0, 0.25), (0.3, 0.25), (0.1, math.inf)):
        with pytest.raises(UsageError, match="--psi-"):
            DriftThresholds(psi_warn=warn, psi_drift=drift)
    assert DriftThresholds(psi_warn=0.25, psi_drift=0.25).psi_warn == 0.25
    for kwargs in ({"days": math.inf}, {"days": math.nan}, {"start": "2026-13-45"}):
        with pytest.raises(ValueError):
            simulate(10, **kwargs)
    with pytest.raises(ValueError, match="past 2099"):
        simulate(10, start="2099-12-01", days=60)
    import numpy as np

    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="finite"):
        LogisticRegression(C=math.inf).fit(X, y)
