"""Writers in batches: JSONL (stdout by default), Parquet and CSV, chosen by `-o`'s extension."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from fraudcli.io.formats import Format, detect_format
from fraudcli.io.jsonl_encode import DUMPS, jsonl_chunks

if TYPE_CHECKING:
    from fraudcli.io.growing_writer import GrowingWriter


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
        self._out.flush()
        for piece in jsonl_chunks(table, {i: self._dumps(row) for i, row in rows.items()}):
            self._out.buffer.write(piece)
        self._out.buffer.flush()

    def close(self) -> None:
        if self._own:
            self._out.close()
        else:
            self._out.flush()


def open_writer(path: str | Path | None) -> JsonlWriter | GrowingWriter:
    """A writer chosen by the extension of `path`; None or '-' is JSONL on stdout."""
    fmt = detect_format(path)
    if fmt is Format.JSONL:
        return JsonlWriter(path)
    from fraudcli.io.growing_writer import GrowingWriter  # (Parquet and CSV: Arrow's writers)

    return GrowingWriter(path, fmt)


def write_table(table: pa.Table, path: str | Path | None) -> None:
    """Write a whole Arrow table to `path` by extension (JSONL on stdout when None or '-');
    Parquet and CSV take the table's own columns and types."""
    writer = open_writer(path)
    try:
        if not isinstance(writer, JsonlWriter):
            writer.write_table(table)
        else:
            for batch in table.to_batches(max_chunksize=65536):
                writer.write(batch.to_pylist())
    finally:
        writer.close()
