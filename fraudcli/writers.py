"""Writers in batches: JSONL (stdout by default), Parquet and CSV, chosen by `-o`'s extension."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fraudcli.errors import InputError
from fraudcli.io import detect_format


class JsonlWriter:
    """One JSON object per line, to a file or stdout; flushed after every batch."""

    def __init__(self, path: str | Path | None) -> None:
        self._own = path is not None and str(path) != "-"
        self._out = open(path, "w", encoding="utf-8") if self._own else sys.stdout  # noqa: SIM115
        self._dumps = json.JSONEncoder(
            separators=(",", ":"), ensure_ascii=False, default=_json_default
        ).encode

    def write(self, rows: list[dict]) -> None:
        dumps = self._dumps
        self._out.write("".join([dumps(row) + "\n" for row in rows]))
        self._out.flush()

    def close(self) -> None:
        if self._own:
            self._out.close()
        else:
            self._out.flush()


class TableWriter:
    """Parquet or CSV through Arrow; the first batch fixes the schema."""

    def __init__(self, path: str | Path, fmt: str) -> None:
        self._path, self._fmt = Path(path), fmt
        self._writer = None
        self._schema: pa.Schema | None = None

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        table = _table(rows, self._schema, csv_lists=self._fmt == "csv")
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._open(table.schema)
        self._writer.write_table(table)

    def _open(self, schema: pa.Schema):
        if self._fmt == "parquet":
            return pq.ParquetWriter(self._path, schema, compression="zstd")
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(self._path, schema)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif self._fmt == "csv":
            self._path.write_text("")
        else:
            pq.write_table(pa.table({}), self._path)


def _table(rows: list[dict], schema: pa.Schema | None, csv_lists: bool) -> pa.Table:
    if csv_lists:  # CSV has no lists: reasons become "a; b"
        rows = [{k: "; ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InputError(f"output rows do not fit one table schema: {exc}") from None


def open_writer(path: str | Path | None) -> JsonlWriter | TableWriter:
    """A writer chosen by the extension of `path`; None or '-' is JSONL on stdout."""
    fmt = detect_format(path)
    return JsonlWriter(path) if fmt == "jsonl" else TableWriter(path, fmt)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def write_table(table: pa.Table, path: str | Path | None) -> None:
    """Write a whole Arrow table to `path` by extension (JSONL on stdout when None or '-')."""
    writer = open_writer(path)
    try:
        for batch in table.to_batches(max_chunksize=65536):
            writer.write(batch.to_pylist())
    finally:
        writer.close()
