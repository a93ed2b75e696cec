"""Readers in batches: Parquet, CSV, JSONL files and JSONL on stdin/stdout.

A reader yields batches of `Item`s: (line or row number, raw text or None, Txn or Reject).
Every input record yields exactly one item, so nothing is lost between reading and writing.
`Reject` and the `RejectSink` that counts and writes rejects are in `fraudcli.rejects`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from fraudcli.io.csv_records import csv_batches
from fraudcli.io.formats import Format, input_format, open_binary
from fraudcli.io.jsonl import jsonl_batches
from fraudcli.io.parquet import parquet_batches
from fraudcli.records.rejects import Item
from fraudcli.records.schema import ColumnMap


def read_batches(
    path: str | Path | None, columns: ColumnMap | None = None, batch_rows: int = 8192
) -> Iterator[list[Item]]:
    """Batches of items from a file (by extension), a Parquet dataset (a directory or a glob:
    its files in input order, `fraudcli.io.dataset`) or JSONL on stdin (path None or '-')."""
    fmt = input_format(path)
    columns = columns or ColumnMap()
    if fmt is Format.JSONL:
        if path is None or str(path) == "-":
            yield from jsonl_batches(sys.stdin.buffer, columns)
            return
        with open_binary(path) as stream:
            yield from jsonl_batches(stream, columns)
    elif fmt is Format.CSV:
        yield from csv_batches(Path(path), columns, batch_rows)
    else:
        yield from parquet_batches(Path(path), columns, batch_rows)


# --- JSONL -----------------------------------------------------------------------------------


# --- CSV -------------------------------------------------------------------------------------


# --- Parquet ---------------------------------------------------------------------------------
