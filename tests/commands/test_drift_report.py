"""`fraud drift-report` end to end: the documented shifts are found and attributed, the same
world is not flagged, and the machine outputs and exit codes hold."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fraudcli.cli import app
from fraudcli.commands.drift_report import drift_report
from fraudcli.config.load import load_config
from fraudcli.simulation.simulate import simulate

runner = CliRunner()
SEED = 5


@pytest.fixture(scope="module")
def drift_world(tmp_path_factory):
    """A model trained on 60 days, then 14 later days twice: as they were, and drifted."""
    from fraudcli.commands.train import train_file

    root = tmp_path_factory.mktemp("drift")
    pq.write_table(simulate(60_000, seed=SEED, days=60), root / "train.parquet")
    later = dict(seed=SEED, start="2026-03-02", days=14)
    pq.write_table(simulate(20_000, **later), root / "plain.parquet")
    pq.write_table(simulate(20_000, drift=True, **later), root / "drifted.parquet")
    train_file(root / "train.parquet", config=load_config(), model_dir=root / "model")
    return root


def report(world, name, **kwargs):
    kwargs.setdefault("model_dir", world / "model")
    return drift_report(world / name, config=load_config(), **kwargs)


def levels(result) -> dict[str, str]:
    return {f.name: f.level for f in result.verdict.features}


def test_the_same_world_later_is_not_drift(drift_world):
    result = report(drift_world, "plain.parquet")
    assert result.verdict.level != "drift", [
        (f.name, f.effect) for f in result.verdict.features if f.level != "stable"
    ]
    assert result.summary.read == 20_000


def test_each_documented_shift_is_found_in_the_right_features(drift_world):
    result = report(drift_world, "drifted.parquet")
    level = levels(result)
    assert result.verdict.level == "drift"
    # amount inflation
    assert level["amount"] != "stable" and level["log_amount"] != "stable"
    # category mix: more online, more digital goods
    assert level["channel"] != "stable" and level["merchant_category"] != "stable"
    # more night-time activity (local night, seen in the UTC hour)
    assert "stable" in level.values() and (
        level["hour_sin"] != "stable" or level["hour_cos"] != "stable"
    )
    # features the shifts do not touch stay quiet
    for name in ("user_txn_count_1h", "is_new_country_30d", "merchant_fraud_rate_1d"):
        assert level[name] == "stable", name


def test_by_day_shows_a_series_per_feature(drift_world):
    result = report(drift_world, "drifted.parquet", by="day")
    series = result.by_period["amount"]
    assert len(series) == 14 and all(value > 0.05 for value in series.values())
    assert "is_weekend" not in result.by_period  # constant within a day: meaningless


def test_unseen_categories_and_missing_fields_are_reported(drift_world, tmp_path):
    table = pq.read_table(drift_world / "plain.parquet").to_pandas()
    table.loc[::4, "merchant_category"] = "crypto_exchange"
    table["device_id"] = None
    path = tmp_path / "odd.parquet"
    table.to_parquet(path)
    result = drift_report(path, config=load_config(), model_dir=drift_world / "model")
    assert result.categorical["merchant_category"].unseen == ("crypto_exchange",)
    assert levels(result)["has_device_id"] != "stable"  # missing rate changed


def test_short_current_data_does_not_judge_calendar_features(drift_world, tmp_path):
    table = pq.read_table(drift_world / "plain.parquet").slice(0, 3000)  # about 2 days
    path = tmp_path / "short.parquet"
    pq.write_table(table, path)
    result = drift_report(path, config=load_config(), model_dir=drift_world / "model")
    assert "is_weekend" in result.not_judged
    assert "is_weekend" not in levels(result)


def test_cli_json_exit_codes_and_rejects(drift_world, tmp_path):
    model = drift_world / "model"
    out = tmp_path / "drift.json"
    args = [
        "drift-report",
        "--current",
        str(drift_world / "drifted.parquet"),
        "--model",
        str(model),
    ]
    result = runner.invoke(app, [*args, "--report", str(out), "--by", "day", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert json.loads(result.stdout) == data  # --json: the same report on stdout
    assert set(data) >= {
        "reference",
        "verdict",
        "numeric",
        "categorical",
        "model_output",
        "by_period",
        "run",
        "not_judged",
    }
    assert data["verdict"]["level"] == "drift"
    feature = data["verdict"]["features"][0]
    assert set(feature) >= {"name", "kind", "level", "effect", "p_value", "p_adjusted"}
    assert set(data["numeric"]["amount"]) >= {"psi", "ks_stat", "ks_pvalue", "wasserstein_scaled"}
    assert {"fraud_probability", "decision"} <= set(data["model_output"])
    assert "dataset: DRIFT" in result.stderr
    failing = runner.invoke(app, [*args, "--fail-on-drift"])
    assert failing.exit_code == 6 and "drift" in failing.stderr
    plain = [
        "drift-report",
        "--current",
        str(drift_world / "plain.parquet"),
        "--model",
        str(model),
        "--fail-on-drift",
    ]
    assert runner.invoke(app, plain).exit_code == 0
    bad = tmp_path / "bad.jsonl"
    rows = pq.read_table(drift_world / "plain.parquet").slice(0, 500).to_pylist()
    lines = [json.dumps({**r, "timestamp": r["timestamp"].isoformat()}, default=str) for r in rows]
    bad.write_text("\n".join(lines[:100] + ["{broken"] + lines[100:]) + "\n")
    result = runner.invoke(app, ["drift-report", "--current", str(bad), "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert "read 501 = written 500 + rejected 1" in result.stderr


def test_unknown_period_is_a_clear_error(drift_world):
    result = runner.invoke(
        app, ["drift-report", "--model", str(drift_world / "model"), "--by", "fortnight"]
    )
    assert result.exit_code == 2 and "--by must be one of" in result.stderr


def test_reference_data_instead_of_the_bundle_profile(drift_world):
    """--reference DATA: profile that data through a fresh store, then continue from it."""
    result = report(drift_world, "drifted.parquet", reference=drift_world / "train.parquet")
    assert result.reference == "data"
    level = levels(result)
    assert level["amount"] != "stable" and level["channel"] != "stable"
    same = report(drift_world, "plain.parquet", reference=drift_world / "train.parquet")
    assert same.verdict.level != "drift"


def same(got, want, path="") -> None:
    """Equal, floats to 1e-9 (window means may differ in their last bits between the paths)."""
    if isinstance(want, dict):
        assert list(got) == list(want), path
        for key in want:
            same(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list | tuple):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12, nan_ok=True), path
    else:
        assert got == want, path


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_file_through_the_column_path_gives_the_record_paths_report(
    drift_world, tmp_path, monkeypatch, suffix
):
    """With small blocks, so the state is carried from block to block; a duplicate and a bad
    line are rejected alike."""
    from fraudcli.io import blocks as input_blocks
    from fraudcli.io import jsonl_blocks as jsonl_columns
    from fraudcli.scoring import decided as decided_module

    rows = pq.read_table(drift_world / "drifted.parquet").slice(0, 6000).to_pylist()
    rows.insert(3000, dict(rows[10]))  # a duplicate transaction_id
    rows[200]["amount"] = -5.0  # a reject
    path = tmp_path / f"current{suffix}"
    if suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        stamped = [r | {"timestamp": r["timestamp"].isoformat()} for r in rows]
        path.write_text("".join(json.dumps(r) + "\n" for r in stamped))
    monkeypatch.setattr(input_blocks, "PARQUET_ROWS", 1000)
    monkeypatch.setattr(jsonl_columns, "READ_BYTES", 200_000)
    got = report(tmp_path, path.name, by="day", model_dir=drift_world / "model")
    monkeypatch.setattr(decided_module, "column_blocks", lambda *args, **kwargs: None)
    want = report(tmp_path, path.name, by="day", model_dir=drift_world / "model")
    assert want.summary.rejected == 2 and want.summary.written == 5999
    same(got.to_dict() | {"run": None}, want.to_dict() | {"run": None})
    assert got.summary.to_dict() | {"seconds": 0} == want.summary.to_dict() | {"seconds": 0}


def test_the_old_json_file_spelling_still_writes_the_report(drift_world, tmp_path):
    out = tmp_path / "old.json"
    args = ["drift-report", "--current", str(drift_world / "drifted.parquet")]
    args += ["--model", str(drift_world / "model"), "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "--json FILE is deprecated: use --report FILE" in result.stderr
    assert result.stdout == "" and json.loads(out.read_text())["verdict"]["level"] == "drift"
    usage = runner.invoke(app, ["drift-report", "--help"]).stdout.splitlines()[0]
    assert usage.split() == ["Usage:", "fraud", "drift-report", "[OPTIONS]"]  # (not the old one)


def test_reference_data_on_the_column_path_gives_the_record_paths_report(
    drift_world, tmp_path, monkeypatch
):
    """--reference A --current B: both read over columns, in small blocks, give the report of
    both read record by record. (Amounts in whole units, so every window mean is the same
    number both ways, to the last bit: a profile's bin edges are quantiles of the reference's
    values, and a value one bit off an edge would fall into the next bin.)"""
    import pyarrow.compute as pc

    from fraudcli.io import blocks as input_blocks
    from fraudcli.scoring import decided as decided_module

    def whole(table: pa.Table) -> pa.Table:
        at = table.column_names.index("amount")
        return table.set_column(at, "amount", pc.round(table["amount"]))

    reference = tmp_path / "reference.parquet"
    train = pq.read_table(drift_world / "train.parquet").slice(20_000, 30_000)
    pq.write_table(whole(train), reference)
    current = tmp_path / "current.parquet"
    pq.write_table(whole(pq.read_table(drift_world / "drifted.parquet").slice(0, 6000)), current)
    monkeypatch.setattr(input_blocks, "PARQUET_ROWS", 4000)
    options = {"by": "day", "model_dir": drift_world / "model", "reference": reference}
    got = report(tmp_path, current.name, **options)
    monkeypatch.setattr(decided_module, "column_blocks", lambda *args, **kwargs: None)
    want = report(tmp_path, current.name, **options)
    assert want.reference == "data" and want.summary.written == 6000
    same(got.to_dict() | {"run": None}, want.to_dict() | {"run": None})


def test_current_data_before_the_reference_ends_is_a_usage_error(drift_world):
    args = ["drift-report", "--current", str(drift_world / "train.parquet")]
    args += ["--reference", str(drift_world / "plain.parquet")]
    result = runner.invoke(app, [*args, "--model", str(drift_world / "model")])
    assert result.exit_code == 2
    assert "the current data starts at 2026-01-01" in result.stderr
    assert "before the reference data ends (2026-03-15" in result.stderr
