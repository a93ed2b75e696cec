"""`fraud train --engine dask` reaches the embedded optimum (to 1e-6) on a real LocalCluster:
the same split, bins from the same rows, the same C, weights, thresholds, state and
fingerprint; with the samples of the bins and the C grid cut small, so every sampling rule
runs; the k-th smallest timestamp across partitions; and the CLI."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudcli.bundle.model_bundle import load_bundle
from fraudcli.commands.train import train_file
from fraudcli.commands.train_dask import train_dataset_file
from fraudcli.config.load import load_config
from fraudcli.engines.dask.table import table_part  # noqa: F401 - the module the cluster runs
from fraudcli.model.split import linear_quantile
from tests.engines.conftest import DASK_WARNINGS
from tests.helpers import run

pytestmark = [pytest.mark.filterwarnings(w) for w in DASK_WARNINGS]


@pytest.fixture(scope="module")
def dataset(world, tmp_path_factory):
    """The test world's training file cut into three files of row groups of 4,000 rows."""
    root = tmp_path_factory.mktemp("train-ds")
    table = pq.read_table(world / "train.parquet")
    for i, (a, b) in enumerate([(0, 11_000), (11_000, 26_500), (26_500, len(table))]):
        pq.write_table(table.slice(a, b - a), root / f"{i}.parquet", row_group_size=4_000)
    return root


def assert_same_bundle(got, want) -> None:
    """The optimum to 1e-6 (the issue's bar); in fact the same model to the bit: the same
    features (each user's sums its own), so the same bins and designs, and the objective
    summed by the same blocks, so L-BFGS takes the same steps."""
    a, b = got.bundle, want.bundle
    assert got.fit["C"] == want.fit["C"]
    for ours, theirs in zip(a.model["weights"], b.model["weights"], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert a.model["intercept"] == pytest.approx(b.model["intercept"], abs=1e-6)
    assert a.model == b.model
    assert a.thresholds == b.thresholds and a.metrics == b.metrics
    grid = [(p["C"], p["validation_log_loss"]) for p in got.fit["grid"]]
    want_grid = [(p["C"], p["validation_log_loss"]) for p in want.fit["grid"]]
    assert [c for c, _ in grid] == [c for c, _ in want_grid]
    np.testing.assert_allclose([v for _, v in grid], [v for _, v in want_grid], rtol=1e-12)
    assert (got.n_train, got.n_validation, got.n_refit) == (
        want.n_train, want.n_validation, want.n_refit,
    )  # fmt: skip
    assert a.fingerprint == b.fingerprint
    for name, table in b.state.items():
        mine = a.state[name]
        assert mine.schema.equals(table.schema) and mine.num_rows == table.num_rows, name
        for column in table.column_names:
            x, y = mine[column], table[column]
            if pa.types.is_floating(x.type):
                np.testing.assert_allclose(
                    x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False),
                    rtol=1e-12, err_msg=f"{name}.{column}",
                )  # fmt: skip
            else:
                assert x.equals(y), f"{name}.{column}"
    assert a.profile == b.profile  # fewer steady rows than PROFILE_ROWS: all of them


def test_training_on_the_cluster_reaches_the_embedded_optimum(dask_options, dataset, tmp_path):
    config = load_config()
    want = train_file(dataset, config=config, model_dir=tmp_path / "embedded")
    got = train_dataset_file(
        dataset, config=config, dask=dask_options(5_000), model_dir=tmp_path / "dask"
    )
    assert_same_bundle(got, want)
    assert got.summary.read == got.summary.written == 40_000
    assert got.summary.engine.partitions == 11  # whole row groups of 4,000 in three files


def test_every_sampling_rule_runs_and_agrees(dask_options, dataset, tmp_path, monkeypatch):
    """Bins from every 7th training row, the grid on every 9th legitimate one (weighted), a
    given C with --no-refit (the first model fitted on all training rows)."""
    monkeypatch.setattr("fraudcli.model.binning.SAMPLE_ROWS", 3_500)
    monkeypatch.setattr("fraudcli.model.select.GRID_ROWS", 2_800)
    config = load_config()
    for options in ({}, {"C": 0.3, "refit": False}):
        want = train_file(dataset, config=config, model_dir=tmp_path / "e", **options)
        got = train_dataset_file(
            dataset, config=config, dask=dask_options(9_000), model_dir=tmp_path / "d",
            **options,
        )  # fmt: skip
        assert_same_bundle(got, want)


def test_the_kth_smallest_timestamp_across_partitions(dask_cluster):
    """Order statistics found by windows narrowed over rounds, ties and all, give NumPy's
    linear quantile to the bit."""
    from distributed import Client

    from fraudcli.engines.dask import fit
    from fraudcli.engines.dask.table import TablePart

    rng = np.random.default_rng(3)
    ts = np.concatenate([np.round(rng.random(250_000) * 1e6), np.full(90_000, 5e5)])
    rng.shuffle(ts)
    pieces = np.array_split(ts, 5)
    with Client(dask_cluster) as client:
        tables = client.scatter(
            [TablePart(i, None, None, p, None, {}, None, np.sort(p)) for i, p in enumerate(pieces)]
        )
        ordered = np.sort(ts)
        for k in (0, 1, 123_456, 170_000, len(ts) - 1):
            assert fit.kth_smallest(client, tables, k) == ordered[k]
        for q in (0.8, 0.5, 0.123):
            got = linear_quantile(len(ts), q, lambda k: fit.kth_smallest(client, tables, k))
            assert got == np.quantile(ts, q)


def numbers(value) -> list[float]:
    """Every number of a JSON-like value, in order (the keys sorted)."""
    if isinstance(value, dict):
        return [x for key in sorted(value) for x in numbers(value[key])]
    if isinstance(value, list | tuple):
        return [x for item in value for x in numbers(item)]
    return [float(value)] if isinstance(value, int | float) else []


def late_dataset(world, root):
    """The training file with one row in 50 stamped up to 20 hours back (within the day of
    lateness): the embedded run goes record by record, the cluster's sides take late rows."""
    table = pq.read_table(world / "train.parquet")
    ts = table["timestamp"].to_numpy().astype("datetime64[us]").astype(np.int64)
    rng = np.random.default_rng(11)
    back = np.where(rng.random(len(ts)) < 0.02, rng.integers(0, 20 * 3600, len(ts)), 0)
    late = pa.array((ts - back * 1_000_000).astype("datetime64[us]"), table["timestamp"].type)
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", late)
    root.mkdir()
    for i, (a, b) in enumerate([(0, 20_000), (20_000, len(table))]):
        pq.write_table(table.slice(a, b - a), root / f"{i}.parquet", row_group_size=5_000)
    return root


def test_the_cli_trains_on_the_cluster_with_late_rows(dask_cluster, world, tmp_path):
    """Through the CLI, on data with late rows: the embedded model's bins and weights (to
    1e-6: the features agree to 1e-9, and an edge lies halfway between values), thresholds and
    metrics; and the bundle scores."""
    data = late_dataset(world, tmp_path / "late")
    result = run("train", data, "--engine", "dask", "--scheduler", dask_cluster.scheduler_address,
                 "--C", "0.1", "--model", tmp_path / "m")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "model bundle written to" in result.output, result.output
    assert "dask: 2 partitions on 2 workers" in result.output, result.output
    want = train_file(data, config=load_config(), model_dir=tmp_path / "e", C=0.1).bundle
    got = load_bundle(tmp_path / "m")
    for ours, theirs in zip(got.model["edges"], want.model["edges"], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    for ours, theirs in zip(got.model["weights"], want.model["weights"], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert got.model["counts"] == want.model["counts"]
    assert got.thresholds == pytest.approx(want.thresholds, rel=1e-9)
    np.testing.assert_allclose(numbers(got.metrics), numbers(want.metrics), rtol=1e-9)
    scored = run("score", world / "later.jsonl", "--model", tmp_path / "m")
    assert scored.exit_code == 0 and len(scored.stdout.splitlines()) == 3_000
