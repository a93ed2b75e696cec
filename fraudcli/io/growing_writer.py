"""Parquet and CSV output whose columns grow with the data.

A Parquet or CSV file has one set of typed columns, fixed when it is opened, while the fields
of decisions are not known in advance: a key outside the schema may first appear in the
millionth record, or be null in every record of the first batch and text later. So the writer
keeps a schema that only grows: a new key is a new last column, and a column whose values no
longer fit its type gets the common type (null -> anything, integer -> float, and text when
nothing else holds both: integers and strings give the strings "1" and "x"). Each growth closes
the part being written and opens the next; `close` merges the parts into the one file, each
part's columns widened to the last schema. Until a growth happens (the usual case) there is one
part, written straight to the destination, and nothing is merged.

CSV has no nested values: a list of strings (`reasons`) is written as "a; b", any other list or
object as its JSON text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from fraudcli.errors import InputError
from fraudcli.files import Staged
from fraudcli.io.formats import Format
from fraudcli.io.json_text import DUMPS

DICTIONARY_BYTES = 1 << 17  # Parquet dictionary page limit (Arrow's is 1 MiB)
MERGE_ROWS = 1 << 16  # rows per batch when parts are merged


class GrowingWriter:
    """Writes decisions to one Parquet or CSV file (`fmt`), growing its columns as needed."""

    def __init__(self, path: str | Path, fmt: Format, *, raw_csv: bool = False) -> None:
        self._staged = Staged(path)  # written beside `path`, renamed into place by `close`
        self._path, self._fmt, self._raw_csv = self._staged.path, Format(fmt), raw_csv
        self.rows_written = 0
        self._schema: pa.Schema | None = None
        self._writer = None
        self._parts: list[Path] = []
        self._widths: list[int] = []  # each part's number of columns

    def write(self, rows: list[dict]) -> None:
        """Write rows given as dicts (keys in first-seen order are the columns)."""
        if rows:
            keys = dict.fromkeys(key for row in rows for key in row)
            columns = [column_of([row.get(key) for row in rows]) for key in keys]
            self.write_table(pa.Table.from_arrays(columns, names=list(keys)))

    def write_arrow(
        self, table: pa.Table | None, rows: dict[int, dict], own_keys: frozenset = frozenset()
    ) -> None:
        """Write a table of output rows; `rows` holds the whole row for some of them (for every
        one when `table` is None), whose own values win outside `own_keys` (the keys the table
        holds for every row: extra keys only some rows have become columns)."""
        if table is None:
            self.write(list(rows.values()))
            return
        keys = dict.fromkeys(k for row in rows.values() for k in row if k not in own_keys)
        for key in keys:
            if key in table.column_names:
                values = table[key].to_pylist()
                for i, row in rows.items():
                    values[i] = row.get(key)
                table = table.set_column(table.column_names.index(key), key, column_of(values))
            else:
                values = [rows[i].get(key) if i in rows else None for i in range(table.num_rows)]
                table = table.append_column(key, column_of(values))
        self.write_table(table)

    def write_table(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._fmt is Format.CSV:
            table = flat_for_csv(table)
            if not self._raw_csv:
                table = neutralised(table)
        schema = table.schema if self._schema is None else grown(self._schema, table.schema)
        if schema is not self._schema:
            self._next_part(schema)
        self._writer.write_table(conform(table, self._schema))
        self.rows_written += table.num_rows

    def _next_part(self, schema: pa.Schema) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self._path if not self._parts else self._hidden(f"part{len(self._parts)}")
        self._parts.append(path)
        self._widths.append(len(schema))
        self._schema, self._writer = schema, self._open(path, schema)

    def _open(self, path: Path, schema: pa.Schema):
        if self._fmt is Format.PARQUET:
            # a column whose dictionary outgrows the limit is near-unique (ids, times, scores):
            # it goes plain sooner, a third less writing for a file a few percent bigger
            limit = DICTIONARY_BYTES
            return pq.ParquetWriter(
                path, schema, compression="zstd", dictionary_pagesize_limit=limit
            )
        return pacsv.CSVWriter(path, schema)

    def _hidden(self, suffix: str) -> Path:
        return self._path.with_name(f".{self._path.name}.{suffix}")

    def close(self) -> None:
        """Finish the file (parts merged) and rename it into place."""
        if self._staged is None:
            return
        self._finish()
        self._staged.commit()
        self._staged = None

    def abort(self) -> None:
        """Leave the destination as it was: what was written so far is removed."""
        if self._staged is None:
            return
        if self._writer is not None:
            try:
                self._writer.close()
            except (OSError, pa.ArrowException):
                pass
        self._staged.discard()
        self._staged = None

    def __enter__(self) -> GrowingWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close() if kind is None else self.abort()

    def _finish(self) -> None:
        if self._writer is None:
            if self._fmt is Format.CSV:
                self._path.write_text("")
            else:
                pq.write_table(pa.table({}), self._path)
            return
        self._writer.close()
        if len(self._parts) > 1:
            merged = self._hidden("merged")
            try:
                if self._fmt is Format.PARQUET:
                    _merge_parquet(self._parts, self._schema, merged, self._open)
                else:
                    _merge_csv(self._parts, self._widths, self._schema, merged, self._open)
                os.replace(merged, self._path)
            finally:
                for part in [*self._parts[1:], merged]:
                    part.unlink(missing_ok=True)


def grown(schema: pa.Schema, incoming: pa.Schema) -> pa.Schema:
    """`schema` with `incoming`'s new fields after its own and each type widened to hold both;
    `schema` itself when nothing changes."""
    fields, place = list(schema), {name: i for i, name in enumerate(schema.names)}
    for field in incoming:
        i = place.get(field.name)
        if i is None:
            place[field.name] = len(fields)
            fields.append(field)
        elif fields[i].type != field.type:
            common = common_type(fields[i].type, field.type)
            if common != fields[i].type:
                fields[i] = pa.field(field.name, common)
    return schema if len(fields) == len(schema) and fields == list(schema) else pa.schema(fields)


def common_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The narrowest type both `a` and `b` cast to (Arrow's permissive promotion), else text."""
    try:
        pair = [pa.schema([("x", a)]), pa.schema([("x", b)])]
        common = pa.unify_schemas(pair, promote_options="permissive").field("x").type
        pa.array([], a).cast(common), pa.array([], b).cast(common)
        return common
    except (pa.ArrowException, TypeError, ValueError):
        return pa.string()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns: missing ones null, each cast to its type."""
    n, names = table.num_rows, table.column_names
    columns = [
        _cast(table[f.name], f.type) if f.name in names else pa.nulls(n, f.type) for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _cast(column: pa.ChunkedArray, to: pa.DataType) -> pa.ChunkedArray:
    if column.type == to:
        return column
    try:
        return column.cast(to)
    except (pa.ArrowException, TypeError, ValueError):
        if to != pa.string():
            raise InputError(f"output column of type {column.type} does not fit {to}") from None
        return pa.chunked_array([as_text(column.to_pylist())], pa.string())


def as_text(values: list) -> pa.Array:
    """Strings as they are, other values as JSON text, nulls as nulls."""

    return pa.array(
        [v if v is None or isinstance(v, str) else DUMPS(v) for v in values], pa.string()
    )


def column_of(values: list) -> pa.Array:
    """One output column from Python values; text (`as_text`) when Arrow finds no one type."""
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return as_text(values)


# A text cell a spreadsheet would run as a formula (OWASP's CSV injection): it starts with one
# of these characters and is not a plain number.
_FORMULA = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"


def neutralised(table: pa.Table) -> pa.Table:
    """Text cells that a spreadsheet would run as formulas (`=HYPERLINK(...)`, `+cmd|...`,
    `@SUM(...)`) prefixed with a `'`, as OWASP advises. Judged by type: only string columns,
    and a cell holding a plain number (`-5`) is left as it is."""
    for i, field in enumerate(table.schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        column = table[i]
        risky = pc.and_(
            pc.match_substring_regex(column, _FORMULA),
            pc.invert(pc.match_substring_regex(column, _NUMBER)),
        )
        if pc.any(risky).as_py():
            quoted = pc.binary_join_element_wise("'", column, "")
            table = table.set_column(i, field.name, pc.if_else(risky, quoted, column))
    return table


def flat_for_csv(table: pa.Table) -> pa.Table:
    """Nested columns as text: lists of strings joined by "; ", anything else as JSON."""
    for i, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_list(kind) and kind.value_type in (pa.string(), pa.null()):
            joined = pc.binary_join(table[i].cast(pa.list_(pa.string())), "; ")
            table = table.set_column(i, field.name, joined)
        elif pa.types.is_nested(kind):
            table = table.set_column(i, field.name, as_text(table[i].to_pylist()))
    return table


def _merge_parquet(parts: list[Path], schema: pa.Schema, out: Path, open_writer) -> None:
    writer = open_writer(out, schema)
    try:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=MERGE_ROWS):
                writer.write_table(conform(pa.Table.from_batches([batch]), schema))
    finally:
        writer.close()


def _merge_csv(parts, widths: list[int], schema: pa.Schema, out: Path, open_writer) -> None:
    """Every part's columns are the first of `schema`'s (columns are only ever appended), so a
    part's rows are its text with an empty field per missing column; its header is dropped."""
    open_writer(out, schema).close()  # the header line alone
    with open(out, "ab") as sink:
        for part, width in zip(parts, widths, strict=True):
            pad = b"," * (len(schema) - width)
            with open(part, "rb") as source:
                rows = _csv_rows(source)
                next(rows, None)  # the part's header
                for row in rows:
                    sink.write(row[:-1] + pad + b"\n" if pad else row)


def _csv_rows(source):
    """The rows of an Arrow-written CSV file: lines ending "\\n", where a quoted field may hold
    line breaks (a row ends where its count of quotes is even: quotes inside are doubled)."""
    row, quotes = b"", 0
    for line in source:
        row, quotes = row + line, quotes + line.count(b'"')
        if quotes % 2 == 0:
            yield row
            row, quotes = b"", 0
    if row:
        yield row
