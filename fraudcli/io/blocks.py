"""The column path's input: blocks of valid records as Arrow columns, from a file or from
stdin redirected from a file; None where the input is a pipe (the record path's)."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from fraudcli.records.rejects import Item

BLOCK_ROWS = 1 << 19  # records per block of CSV, or of JSONL parsed line by line (mapped keys)
PARQUET_ROWS = 1 << 18  # Parquet rows per block: measured fastest here (each block re-reads the
# stored state, and blocks of 1M rows sort out of cache)


SMALL_BYTES = 1 << 18  # a JSONL or CSV file this small is decided sooner record by record
# than the column path starts (its modules and the state as columns cost some 0.3 s)


def column_blocks(data: Path | None, columns) -> Iterator | None:
    """Blocks of valid records as columns, or None when the input is for the record path: a
    pipe, or a small JSONL or CSV file."""
    from fraudcli.io.formats import Format, ensure_readable, input_format

    if data is None or str(data) == "-":
        try:
            status = os.fstat(sys.stdin.fileno())
        except (AttributeError, OSError, ValueError):  # stdin replaced, e.g. in tests
            return None
        if not stat.S_ISREG(status.st_mode) or status.st_size < SMALL_BYTES:
            return None
        return jsonl_blocks(getattr(sys.stdin, "buffer", sys.stdin), columns)
    fmt = input_format(data)
    if fmt is Format.PARQUET:  # a file, or a dataset's files in input order
        from fraudcli.io.parquet import parquet_blocks

        return parquet_blocks(ensure_readable(data), columns, PARQUET_ROWS)
    if ensure_readable(data).stat().st_size < SMALL_BYTES:
        return None
    if fmt is Format.JSONL:
        return _jsonl_file_blocks(ensure_readable(data), columns)
    from fraudcli.io.csv_blocks import csv_blocks

    return csv_blocks(ensure_readable(data), columns, BLOCK_ROWS)


def _jsonl_file_blocks(path: Path, columns) -> Iterator:
    with open(path, "rb") as stream:
        yield from jsonl_blocks(stream, columns)


def jsonl_blocks(stream, columns) -> Iterator:
    """JSONL as blocks of records: Arrow's JSON reader with the record path's parse for every
    line Arrow might read differently (`fraudcli.io.jsonl_blocks`). Renamed columns (a mapping in
    fraud.toml) are parsed line by line as the record path does, then gathered into blocks."""
    from fraudcli.io.jsonl import jsonl_batches
    from fraudcli.io.jsonl_blocks import jsonl_blocks as arrow_blocks

    if not columns.mapping:
        yield from arrow_blocks(stream, columns)
        return
    yield from item_blocks(jsonl_batches(stream, columns))


def item_blocks(batches: Iterable[list[Item]]) -> Iterator:
    """The record path's parsed batches gathered into blocks of `BLOCK_ROWS` records."""
    from fraudcli.records.columns import block_of_items

    items: list = []
    for batch in batches:
        items += batch
        if len(items) >= BLOCK_ROWS:
            yield block_of_items(items)
            items = []
    if items:
        yield block_of_items(items)
