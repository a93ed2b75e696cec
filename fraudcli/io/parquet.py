"""Parquet input: record batches for the record path (`parquet_batches`) and blocks of valid
rows as columns for the column path (`parquet_blocks`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from fraudcli.errors import InputError
from fraudcli.io.dataset import dataset_files
from fraudcli.records.columns import (
    STRING_COLUMNS,
    ValidBlock,
    block_of_items,
    clean_mask,
    clean_txns,
    renamed,
)
from fraudcli.records.iso_columns import timestamps
from fraudcli.records.rejects import Item, validated
from fraudcli.records.schema import FIELD_SET, ColumnMap


def parquet_batches(path: Path, columns: ColumnMap, batch_rows: int) -> Iterator[list[Item]]:
    first = 1
    for batch in parquet_record_batches(path, batch_rows):
        yield batch_items(batch, columns, first)
        first += batch.num_rows


def parquet_record_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The record batches of a file, or of a dataset's files one after the other (input order,
    `fraudcli.io.dataset`); InputError (with the row reached) if one cannot be read."""
    for file in dataset_files(path):
        yield from file_record_batches(file, batch_rows)


def file_record_batches(
    path: Path, batch_rows: int, row_groups: list[int] | None = None
) -> Iterator[pa.RecordBatch]:
    """One file's record batches (of `row_groups` only, when given); InputError (with the row
    reached) if it cannot be read."""
    try:
        import pyarrow.parquet as pq  # (only for a Parquet input: 10 ms of a start)

        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from None
    done = 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=row_groups):
            yield batch
            done += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} after row {done}: {exc}") from None


def batch_items(batch: pa.RecordBatch, columns: ColumnMap, first: int) -> list[Item]:
    """Clean rows validated by column kernels; every other row by the one-record checks."""
    data = renamed(batch, columns)
    mask = clean_mask(data, batch.num_rows)
    fast = iter(clean_txns(data, np.flatnonzero(mask)))
    names = list(data)
    slow_rows = None
    items: list[Item] = []
    for i, ok in enumerate(mask.tolist()):
        if ok:
            items.append((first + i, None, next(fast)))
            continue
        if slow_rows is None:
            slow_rows = [_column_values(data[name]) for name in names]
        obj = {name: values[i] for name, values in zip(names, slow_rows, strict=True)}
        items.append((first + i, None, validated(obj, first + i, None, lenient=False)))
    return items


def _column_values(column: pa.Array) -> list:
    """Python values of a column; timestamps become epoch seconds (cheaper than datetimes)."""
    if pa.types.is_timestamp(column.type):
        unit = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit]
        as_int = column.cast(pa.int64()).to_pylist()
        return [None if v is None else v / unit for v in as_int]
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column.to_pylist()


def parquet_blocks(path, columns: ColumnMap, batch_rows: int) -> Iterator[ValidBlock]:
    """The valid rows of each Parquet batch as columns (see `ValidBlock`), rejects aside.

    A clean batch goes column to column, its columns outside the schema carried along as
    `passthrough`; a batch with any row the kernels do not pass goes row by row through the
    record path's checks (`io.parquet.batch_items`), and its valid rows back into columns."""
    return blocks_of(parquet_record_batches(path, batch_rows), columns)


def blocks_of(
    batches: Iterable[pa.RecordBatch], columns: ColumnMap, first: int = 1
) -> Iterator[ValidBlock]:
    """`parquet_blocks` of record batches whose first row is row number `first`."""
    for batch in batches:
        data = renamed(batch, columns)
        n = batch.num_rows
        if clean_mask(data, n).all():
            passthrough = {k: v for k, v in data.items() if k not in FIELD_SET}
            lines = np.arange(first, first + n)
            block = ValidBlock(n, lines, _clean_columns(data, n), {}, [], passthrough)
        else:
            block = block_of_items(batch_items(batch, columns, first))
        yield block
        first += n


def _clean_columns(data: dict[str, pa.Array], n: int) -> dict[str, pa.Array]:
    """The schema fields of clean rows in `ValidBlock.data` form."""
    out = {name: _as(data.get(name), pa.string(), n) for name in STRING_COLUMNS}
    out |= {name: _as(data.get(name), pa.float64(), n) for name in ("amount", "lat", "lon")}
    out["is_fraud"] = _as(data.get("is_fraud"), pa.int8(), n)
    out["ts"] = pa.array(timestamps(data["timestamp"]), pa.float64())
    out["ts_text"] = pa.nulls(n, pa.string())
    return out


def _as(array: pa.Array | None, kind: pa.DataType, n: int) -> pa.Array:
    if array is None:
        return pa.nulls(n, kind)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array if array.type == kind else array.cast(kind)
