"""Writers in batches: JSONL (stdout by default), Parquet and CSV, chosen by `-o`'s extension."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudcli.errors import InputError
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io import detect_format

# the keys `score.output_record` writes itself: a whole row holds the table's own values there
_OUTPUT_KEYS = frozenset(("transaction_id", "user_id", "timestamp", "amount", "fraud_probability",
                          "decision", "reasons", "degraded", *FEATURE_NAMES))  # fmt: skip
DICTIONARY_BYTES = 1 << 17  # Parquet dictionary page limit of TableWriter (Arrow's is 1 MiB)


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

    def write_arrow(self, table: pa.Table, rows: dict[int, dict]) -> None:
        """Write a table of output rows; keys that only some `rows` have become columns."""
        if table.num_rows == 0:
            return
        keys = {k: None for row in rows.values() for k in row if k not in _OUTPUT_KEYS}
        for key in keys:  # a row's own value; a row without the key has none
            if key in table.column_names:
                values = table[key].to_pylist()
                for i, row in rows.items():
                    values[i] = row.get(key)
                table = table.set_column(table.column_names.index(key), key, _column(values, key))
            else:
                values = [rows[i].get(key) if i in rows else None for i in range(table.num_rows)]
                table = table.append_column(key, _column(values, key))
        if self._fmt == "csv" and "reasons" in table.column_names:
            index = table.column_names.index("reasons")
            joined = pc.binary_join(table["reasons"], "; ")
            table = table.set_column(index, "reasons", joined)
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._open(table.schema)
        self._writer.write_table(_conform(table, self._schema))

    def _open(self, schema: pa.Schema):
        if self._fmt == "parquet":
            # a column whose dictionary outgrows this is near-unique (ids, times, scores): it
            # goes plain sooner, a third less writing for a file a few percent bigger
            return pq.ParquetWriter(
                self._path, schema, compression="zstd", dictionary_pagesize_limit=DICTIONARY_BYTES
            )
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


def _column(values: list, key: str) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InputError(f"output column {key!r} does not fit one type: {exc}") from None


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with the first batch's columns: missing ones null, others left out (the first
    batch fixes a Parquet or CSV file's columns)."""
    columns = [
        table[f.name] if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    try:
        return pa.Table.from_arrays(columns, schema=schema)
    except (pa.ArrowException, TypeError, ValueError):
        cast = [c.cast(f.type) for c, f in zip(columns, schema, strict=True)]
        return pa.Table.from_arrays(cast, schema=schema)


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
    """Write a whole Arrow table to `path` by extension (JSONL on stdout when None or '-')."""
    writer = open_writer(path)
    try:
        for batch in table.to_batches(max_chunksize=65536):
            writer.write(batch.to_pylist())
    finally:
        writer.close()
