"""Parquet datasets (a directory or a glob of files): read as the concatenation of their files in
sorted path order, on the record path, the column path and training's clean path."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudcli.commands.train import train_file
from fraudcli.config.load import load_config
from fraudcli.errors import InputError
from fraudcli.io.blocks import column_blocks
from fraudcli.io.dataset import dataset_files, dataset_sha256, is_dataset
from fraudcli.io.formats import count_rows, ensure_readable
from fraudcli.records.schema import ColumnMap
from tests.helpers import items_of


def split_into_files(table: pa.Table, root, cuts: list[int], names: list[str]) -> None:
    """`table` cut at `cuts` and written as the files `names` (relative to `root`)."""
    bounds = [0, *cuts, len(table)]
    for name, a, b in zip(names, bounds[:-1], bounds[1:], strict=True):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.slice(a, b - a), path)


def messy(world) -> pa.Table:
    table = pq.read_table(world / "train.parquet").slice(0, 3000).to_pandas()
    table.loc[5, "amount"] = -1.0  # a reject
    table.loc[2500, "transaction_id"] = table.loc[10, "transaction_id"]  # a duplicate
    return pa.Table.from_pandas(table, preserve_index=False)


def test_files_in_sorted_path_order_hidden_ones_left_out(tmp_path):
    table = pa.table({"x": [1, 2, 3]})
    for name in ("b/2.parquet", "a.parquet", "b/10.pq", "_tmp/x.parquet", ".c.parquet", "n.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp_path / name)
    names = [str(p.relative_to(tmp_path)) for p in dataset_files(tmp_path)]
    assert names == ["a.parquet", "b/10.pq", "b/2.parquet"]
    assert [p.name for p in dataset_files(tmp_path / "b" / "*.p*")] == ["10.pq", "2.parquet"]
    assert is_dataset(tmp_path) and is_dataset(f"{tmp_path}/*.parquet")
    assert not is_dataset(tmp_path / "a.parquet") and not is_dataset(None)
    assert count_rows(tmp_path) == 9
    with pytest.raises(InputError, match="no Parquet files"):
        ensure_readable(tmp_path / "nothing-*.parquet")
    odd = tmp_path / "[red]x*.jsonl"  # a file, whatever its name says
    odd.write_text("{}\n")
    assert not is_dataset(odd) and ensure_readable(odd) == odd


def test_a_dataset_reads_as_its_files_one_after_the_other(world, tmp_path):
    table = messy(world)
    pq.write_table(table, tmp_path / "whole.parquet")
    names = ["0.parquet", "1.parquet", "2.parquet", "3.parquet"]
    split_into_files(table, tmp_path / "ds", [1000, 1001, 2600], names)
    whole, parts = items_of(tmp_path / "whole.parquet"), items_of(tmp_path / "ds")
    assert [(line, str(item)) for line, _, item in parts] == [
        (line, str(item)) for line, _, item in whole
    ]
    assert parts[5][2].line == 6  # row numbers count on across the files


def test_the_column_path_reads_a_dataset_as_one_file(world, tmp_path):
    table = messy(world)
    pq.write_table(table, tmp_path / "whole.parquet")
    split_into_files(table, tmp_path / "ds", [700, 2900], ["a.parquet", "b.parquet", "c.parquet"])

    def flat(path):
        blocks = list(column_blocks(path, ColumnMap()))
        lines = np.concatenate([b.lines for b in blocks])
        ids = [v for b in blocks for v in b.data["transaction_id"].to_pylist()]
        rejects = [r for b in blocks for r in b.rejects]
        return lines.tolist(), ids, rejects

    assert flat(tmp_path / "ds") == flat(tmp_path / "whole.parquet")
    assert flat(f"{tmp_path}/ds/*.parquet") == flat(tmp_path / "whole.parquet")


def test_training_on_a_dataset_is_training_on_the_concatenation(world, tmp_path):
    table = pq.read_table(world / "train.parquet")
    names = ["x/1.parquet", "x/2.parquet", "y.parquet"]
    split_into_files(table, tmp_path / "ds", [15_000, 30_000], names)
    config = load_config()
    whole = train_file(world / "train.parquet", config=config, model_dir=tmp_path / "m1")
    parts = train_file(tmp_path / "ds", config=config, model_dir=tmp_path / "m2")
    assert parts.bundle.model == whole.bundle.model
    assert parts.bundle.thresholds == whole.bundle.thresholds
    files = dataset_files(tmp_path / "ds")
    assert parts.bundle.fingerprint["sha256"] == dataset_sha256(files)
    assert dataset_sha256([world / "train.parquet"]) == whole.bundle.fingerprint["sha256"]
