"""Writers in batches: JSONL (stdout by default), Parquet and CSV, chosen by `-o`'s extension."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from fraudcli.files import Staged, is_stream
from fraudcli.io.formats import Format, detect_format
from fraudcli.io.json_text import DUMPS

STREAM_PIECE_ROWS = 256  # rows per flush on stdout: `rows_written` counts whole pieces the OS took

if TYPE_CHECKING:
    from fraudcli.io.growing_writer import GrowingWriter


class JsonlWriter:
    """One JSON object per line, to a file or stdout; flushed after every batch. A regular
    file appears whole on `close` or not at all (`abort`, see `fraudcli.files`); stdout, a
    pipe or a device is written directly. `rows_written`: rows written and flushed so far."""

    def __init__(self, path: str | Path | None) -> None:
        self._own = path is not None and str(path) != "-"
        self._staged = Staged(path) if self._own and not is_stream(path) else None
        target = self._staged.path if self._staged else path
        self._out = open(target, "w", encoding="utf-8") if self._own else sys.stdout  # noqa: SIM115
        self._dumps = DUMPS
        self.rows_written = 0

    def write(self, rows: list[dict]) -> None:
        dumps, step = self._dumps, max(len(rows), 1) if self._own else STREAM_PIECE_ROWS
        for start in range(0, len(rows), step):  # a stream: flushed (and counted) often
            piece = rows[start : start + step]
            self._out.write("".join([dumps(row) + "\n" for row in piece]))
            self._out.flush()
            self.rows_written += len(piece)

    def write_arrow(
        self, table: pa.Table | None, rows: dict[int, dict], own_keys: frozenset = frozenset()
    ) -> None:
        """Write a table of output rows; `rows` holds the whole row for some of them (for every
        one when `table` is None). `own_keys` matters only to `GrowingWriter`."""
        if table is None:
            self.write(list(rows.values()))
            return
        if len(rows) == table.num_rows:
            self.write([rows[i] for i in range(table.num_rows)])
            return
        from fraudcli.io.jsonl_encode import jsonl_chunks  # (loads pyarrow.compute: not for rows)

        self._out.flush()
        out, step = self._out.buffer, max(table.num_rows, 1) if self._own else STREAM_PIECE_ROWS
        for start in range(0, table.num_rows, step):  # a stream: flushed (and counted) often
            piece = table.slice(start, step)
            texts = {
                i - start: self._dumps(row) for i, row in rows.items() if 0 <= i - start < step
            }
            for part in jsonl_chunks(piece, texts):
                out.write(part)
            out.flush()
            self.rows_written += piece.num_rows

    def close(self) -> None:
        if not self._own:
            self._out.flush()
        elif not self._out.closed:
            self._out.close()
            if self._staged is not None:
                self._staged.commit()

    def abort(self) -> None:
        if self._own and not self._out.closed:
            self._out.close()
            if self._staged is not None:
                self._staged.discard()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.close() if kind is None else self.abort()


def open_writer(path: str | Path | None, *, raw_csv: bool = False) -> JsonlWriter | GrowingWriter:
    """A writer chosen by the extension of `path`. None or '-' is JSONL on stdout, and so is
    any other stream (a pipe, a device such as /dev/null): a stream needs no format. CSV cells
    that a spreadsheet would run as formulas are neutralised unless `raw_csv`."""
    fmt = Format.JSONL if is_stream(path) else detect_format(path)
    if fmt is Format.JSONL:
        return JsonlWriter(path)
    from fraudcli.io.growing_writer import GrowingWriter  # (Parquet and CSV: Arrow's writers)

    return GrowingWriter(path, fmt, raw_csv=raw_csv)


def write_table(table: pa.Table, path: str | Path | None, *, raw_csv: bool = False) -> None:
    """Write a whole Arrow table to `path` by extension (JSONL on stdout when None or '-');
    Parquet and CSV take the table's own columns and types."""
    write_tables([table], path, raw_csv=raw_csv)


def write_tables(
    tables: Iterable[pa.Table],
    path: str | Path | None,
    on_rows: Callable[[int], None] | None = None,
    *,
    raw_csv: bool = False,
) -> None:
    """`write_table` of tables of one schema, one after the other into one file, each written
    as it comes (`on_rows(n)` after each), so only one is held at a time."""
    with open_writer(path, raw_csv=raw_csv) as writer:
        for table in tables:
            if not isinstance(writer, JsonlWriter):
                writer.write_table(table)
            else:
                for batch in table.to_batches(max_chunksize=65536):
                    writer.write(batch.to_pylist())
            if on_rows is not None:
                on_rows(table.num_rows)
