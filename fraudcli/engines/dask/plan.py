"""The input partitions of a run: whole Parquet row groups of the dataset's files, in input
order, each with the sequence number of its first row.

A row's sequence number is its place in the input (0 for the first row of the first file in
sorted path order); its row number in rejects is that plus one, as on the embedded path. The
partitions are sequence ranges, so the output, written partition by partition, is in input
order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fraudcli.errors import InputError
from fraudcli.io.dataset import dataset_files


@dataclass(frozen=True)
class InputPart:
    """Row groups `row_groups` of the file `path`: rows `first` .. `first + rows - 1` of the
    input (sequence numbers); `index` is the partition's place among all."""

    index: int
    path: str
    row_groups: tuple[int, ...]
    first: int
    rows: int

    @property
    def end(self) -> int:
        return self.first + self.rows


def plan(path: str | Path, partition_rows: int) -> list[InputPart]:
    """The partitions of the dataset (or file) at `path`: consecutive row groups of one file
    gathered up to `partition_rows` rows (a larger row group is a partition of its own)."""
    parts: list[InputPart] = []
    first = 0
    for file in dataset_files(path):
        groups, rows = [], 0
        for group, n in enumerate(_row_group_sizes(file)):
            if groups and rows + n > partition_rows:
                parts.append(InputPart(len(parts), str(file), tuple(groups), first, rows))
                first, groups, rows = first + rows, [], 0
            if n:
                groups.append(group)
                rows += n
        if groups:
            parts.append(InputPart(len(parts), str(file), tuple(groups), first, rows))
            first += rows
    return parts


def _row_group_sizes(file: Path) -> list[int]:
    try:
        metadata = pq.ParquetFile(file).metadata
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {file} as Parquet: {exc}") from None
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def divisions(parts: list[InputPart]) -> tuple[int, ...]:
    """Dask divisions of the partitions by sequence number (the last one inclusive)."""
    return (*(part.first for part in parts), parts[-1].end - 1)
