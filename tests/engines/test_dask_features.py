"""`fraud features --engine dask` equals the embedded run, row for row (1e-9), on a real
LocalCluster: Hypothesis streams cut into random files and partitions (users and merchants
split across files, ties, window edges, late rows, duplicates across files, bad rows), and a
hot merchant holding most of the rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fraudcli.commands.features import features_file
from fraudcli.config.load import load_config
from fraudcli.engines.dask import features_dataset
from fraudcli.errors import StrictRejectError, UsageError
from fraudcli.features.spec import DAY
from fraudcli.features.store import StoreConfig
from fraudcli.records.schema import ColumnMap
from tests.engines.conftest import DASK_WARNINGS
from tests.helpers import T0, build, gaps, run

pytestmark = [pytest.mark.filterwarnings(w) for w in DASK_WARNINGS]

record = st.tuples(
    gaps,
    st.sampled_from(["u1", "u2", "u3", "u4", "u5", "u6"]),
    st.integers(0, 50_000).map(lambda cents: cents / 100),
    st.sampled_from(["m1", "m2", "m3", None]),
    st.sampled_from(["US", "FR", None]),
    st.sampled_from(["d1", "d2", None]),
    st.sampled_from([0, 1, None]),
    st.sampled_from([None, (48.85, 2.35), (40.71, -74.0)]),
    st.floats(-2 * DAY, 0),
)


def table_of(txns, repeat: list, bad: list[int]) -> pa.Table:
    """The stream as a Parquet-ready table; a row i of `repeat` (or a pair (i, back)) takes the
    id of row i // 2 (of row i - back), rows in `bad` a negative amount (a reject)."""
    ids = [t.transaction_id for t in txns]
    for i, back in (r if isinstance(r, tuple) else (r, None) for r in repeat):
        if 0 < i < len(ids):
            ids[i] = ids[i // 2 if back is None else max(0, i - back)]
    amounts = [-1.0 if i in bad else t.amount for i, t in enumerate(txns)]
    return pa.table(
        {
            "transaction_id": ids,
            "timestamp": pa.array([t.ts for t in txns], pa.float64()),
            "user_id": [t.user_id for t in txns],
            "amount": amounts,
            "merchant_id": pa.array([t.merchant_id for t in txns], pa.string()),
            "country": pa.array([t.country for t in txns], pa.string()),
            "lat": pa.array([t.lat for t in txns], pa.float64()),
            "lon": pa.array([t.lon for t in txns], pa.float64()),
            "device_id": pa.array([t.device_id for t in txns], pa.string()),
            "is_fraud": pa.array([t.is_fraud for t in txns], pa.int8()),
        }
    )


def write_dataset(table: pa.Table, root: Path, cuts: list[int], group_rows: int) -> Path:
    """`table` cut into files (names sorting in input order) of row groups of `group_rows`."""
    bounds = [0, *sorted({min(c, len(table)) for c in cuts}), len(table)]
    (root / "ds").mkdir()
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        pq.write_table(table.slice(a, b - a), root / "ds" / f"{i:03d}.parquet",
                       row_group_size=group_rows)  # fmt: skip
    pq.write_table(table, root / "whole.parquet")
    return root / "ds"


def dataset_table(directory: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(directory.glob("part-*.parquet"))])


def assert_tables_equal(got: pa.Table, want: pa.Table) -> None:
    assert got.num_rows == want.num_rows
    if not want.num_rows:  # the embedded writer has no rows to type its columns by
        return
    assert got.schema.equals(want.schema)
    for name in want.column_names:
        a = got[name].to_numpy(zero_copy_only=False)
        b = want[name].to_numpy(zero_copy_only=False)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=name)
        else:
            assert (a == b).all() or got[name].equals(want[name]), name


def embedded(root: Path, rejects: bool = True, config: Path | None = None) -> tuple:
    out = root / "embedded.parquet"
    summary = features_file(root / "whole.parquet", out, config_path=config,
                            rejects_path=root / "emb.jsonl" if rejects else None)  # fmt: skip
    return summary, pq.read_table(out)


def store_settings(root: Path, dedupe_days: float | None, lateness_days: float) -> Path:
    """A fraud.toml with these store settings (the label delay stays 7 days)."""
    lines = ["[features]", f"lateness_days = {lateness_days}"]
    if dedupe_days is not None:
        lines.append(f"dedupe_window_days = {dedupe_days}")
    path = root / "fraud.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a cluster run: minutes
)
@given(
    st.lists(record, min_size=1, max_size=60),
    st.booleans(),
    st.lists(st.integers(0, 60), max_size=4),
    st.integers(1, 9),
    st.integers(1, 20),
    st.lists(st.integers(0, 60) | st.tuples(st.integers(0, 60), st.integers(1, 8)), max_size=6),
    st.lists(st.integers(0, 60), max_size=2),
    st.sampled_from([None, 0.5, 3.0, 12.0]),
    st.sampled_from([1.0, 3.0]),
    st.integers(1, 25),
)
def test_equal_to_the_embedded_run_on_streams_cut_anywhere(
    dask_options, records, late, cuts, group_rows, partition_rows, repeat, bad, dedupe, lateness,
    side_rows,
):  # fmt: skip
    """Ids repeated near and far, beyond the dedupe window too; rows late by up to 2 days
    (within and beyond the lateness); the kernels stepping through any number of a shuffled
    partition's rows at a time (record by record from a step they cannot do): every row,
    feature and reject as the embedded run's."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        txns = build(records, T0, late=late)
        data = write_dataset(table_of(txns, repeat, bad), root, cuts, group_rows)
        config = store_settings(root, dedupe, lateness)
        want_summary, want = embedded(root, config=config)
        summary, stats = features_dataset(
            data, root / "out", columns=ColumnMap(), store=load_config(config).store,
            options=dask_options(partition_rows, side_rows), rejects_dir=root / "rejects",
        )  # fmt: skip
        assert_tables_equal(dataset_table(root / "out"), want)
        assert (summary.read, summary.written, summary.rejected) == (
            want_summary.read, want_summary.written, want_summary.rejected,
        )  # fmt: skip
        assert summary.read == summary.written + summary.rejected
        assert summary.reject_reasons == want_summary.reject_reasons
        got_rejects = "".join(p.read_text() for p in sorted((root / "rejects").glob("*.jsonl")))
        want_rejects = (root / "emb.jsonl").read_text()
        assert got_rejects == want_rejects
        files = [p for p in data.iterdir() if pq.ParquetFile(p).metadata.num_rows]
        assert stats.partitions >= len(files)


def test_a_hot_merchant_lands_whole_in_one_partition_and_stays_exact(dask_options, tmp_path):
    """One merchant has 80% of the rows: its partition holds all of them, the kernels step
    through it 300 rows at a time, and the features are still the embedded run's."""
    rng = np.random.default_rng(5)
    n = 3000
    ts = T0 + np.cumsum(rng.integers(0, 400, n)).astype(np.float64)
    merchant = np.where(rng.random(n) < 0.8, "hot", [f"m{i}" for i in rng.integers(0, 50, n)])
    table = pa.table(
        {
            "transaction_id": [f"t{i}" for i in range(n)],
            "timestamp": ts,
            "user_id": [f"u{i}" for i in rng.integers(0, 200, n)],
            "amount": np.round(rng.random(n) * 100, 2),
            "merchant_id": merchant,
            "is_fraud": rng.random(n) < 0.05,
        }
    ).set_column(5, "is_fraud", pa.array((rng.random(n) < 0.05).astype(np.int8)))
    data = write_dataset(table, tmp_path, [1000, 2000], 250)
    _, want = embedded(tmp_path)
    summary, stats = features_dataset(
        data, tmp_path / "out", columns=ColumnMap(), store=StoreConfig(),
        options=dask_options(500, side_rows=300),
    )  # fmt: skip
    assert_tables_equal(dataset_table(tmp_path / "out"), want)
    hot = int((merchant == "hot").sum())
    assert stats.largest_merchant == ("hot", hot) and stats.merchant_rows >= hot
    assert stats.partitions == 6 and stats.user_rows < hot


def test_strict_stops_with_no_output_and_keeps_the_rejects(dask_options, tmp_path):
    txns = build([(60.0, "u1", 5.0, "m1", "US", "d1", 0, None, 0.0)] * 20)
    data = write_dataset(table_of(txns, [], [7, 3]), tmp_path, [10], 4)
    with pytest.raises(StrictRejectError, match="line 4:"):
        features_dataset(
            data, tmp_path / "out", columns=ColumnMap(), store=StoreConfig(),
            options=dask_options(4), rejects_dir=tmp_path / "rej", strict=True,
        )  # fmt: skip
    assert not (tmp_path / "out").exists()
    lines = [p.read_text() for p in sorted((tmp_path / "rej").iterdir())]
    assert len(lines) == 2 and '"line": 4' in lines[0] and '"line": 8' in lines[1]


def test_outputs_must_be_dataset_directories(dask_options, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    (tmp_path / "file.parquet").write_text("x")
    for target in (tmp_path / "mine", tmp_path / "file.parquet", None):
        with pytest.raises(UsageError):
            features_dataset(
                tmp_path, target, columns=ColumnMap(), store=StoreConfig(),
                options=dask_options(),
            )  # fmt: skip
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_the_cli_runs_on_the_cluster_and_replaces_its_own_output(dask_cluster, tmp_path):
    txns = build([(3600.0, "u1", 5.0, "m1", "US", "d1", 0, None, 0.0)] * 30)
    data = write_dataset(table_of(txns, [29], []), tmp_path, [12], 5)
    _, want = embedded(tmp_path, rejects=False)
    address = dask_cluster.scheduler_address
    for _ in range(2):  # the second run replaces the first's dataset
        result = run("features", data, "--engine", "dask", "--scheduler", address,
                     "-o", tmp_path / "out")  # fmt: skip
        assert result.exit_code == 0, result.output
    assert "read 30 = written 29 + rejected 1" in result.output
    assert "dask: 7 partitions" not in result.output and "dask:" in result.output
    assert_tables_equal(dataset_table(tmp_path / "out"), want)
    result = run("features", data, "--dask-workers", "2", "-o", tmp_path / "x")
    assert result.exit_code == 2 and "needs --engine dask" in result.output
    result = run("features", data, "--engine", "dask", "--scheduler", address,
                 "--memory-limit", "3GB", "-o", tmp_path / "x")  # fmt: skip
    assert result.exit_code == 2 and "LocalCluster" in result.output
