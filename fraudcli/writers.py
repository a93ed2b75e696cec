"""Writers in batches: JSONL (stdout by default), Parquet and CSV, chosen by `-o`'s extension."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import pyarrow as pa

from fraudcli.io import detect_format
from fraudcli.table_writer import TableWriter


class JsonlWriter:
    """One JSON object per line, to a file or stdout; flushed after every batch."""

    def __init__(self, path: str | Path | None) -> None:
        self._own = path is not None and str(path) != "-"
        self._out = open(path, "w", encoding="utf-8") if self._own else sys.stdout  # noqa: SIM115
        self._dumps = DUMPS

    def write(self, rows: list[dict]) -> None:
        dumps = self._dumps
        self._out.write("".join([dumps(row) + "\n" for row in rows]))
        self._out.flush()

    def write_arrow(self, table: pa.Table, rows: dict[int, dict]) -> None:
        """Write a table of output rows; `rows` holds the whole row for some of them."""
        if len(rows) == table.num_rows:
            self.write([rows[i] for i in range(table.num_rows)])
            return
        from fraudcli.jsonl_encode import jsonl_chunks  # imports this module: not at the top

        self._out.flush()
        for piece in jsonl_chunks(table, {i: self._dumps(row) for i, row in rows.items()}):
            self._out.buffer.write(piece)
        self._out.buffer.flush()

    def close(self) -> None:
        if self._own:
            self._out.close()
        else:
            self._out.flush()


def open_writer(path: str | Path | None) -> JsonlWriter | TableWriter:
    """A writer chosen by the extension of `path`; None or '-' is JSONL on stdout."""
    fmt = detect_format(path)
    return JsonlWriter(path) if fmt == "jsonl" else TableWriter(path, fmt)


def json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


# One output line's JSON: compact, UTF-8 as is, datetimes as ISO text, anything else as str().
DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=json_default).encode


def write_table(table: pa.Table, path: str | Path | None) -> None:
    """Write a whole Arrow table to `path` by extension (JSONL on stdout when None or '-');
    Parquet and CSV take the table's own columns and types."""
    write_tables([table], path)


def write_tables(
    tables: Iterable[pa.Table],
    path: str | Path | None,
    on_rows: Callable[[int], None] | None = None,
) -> None:
    """`write_table` of tables of one schema, one after the other into one file, each written
    as it comes (`on_rows(n)` after each), so only one is held at a time."""
    writer = open_writer(path)
    try:
        for table in tables:
            if isinstance(writer, TableWriter):
                writer.write_table(table)
            else:
                for batch in table.to_batches(max_chunksize=65536):
                    writer.write(batch.to_pylist())
            if on_rows is not None:
                on_rows(table.num_rows)
    finally:
        writer.close()
