"""Rows of a file as plain dicts, not yet validated as transactions (label files): JSONL,
CSV or Parquet by extension, JSONL on stdin. Each row is `(line or row number, raw text or
None, dict or Reject)`, a row that is not an object being a reject, as the readers of
`fraudcli.io.read` give them; `renames` maps a field to the column that holds it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from fraudcli.io.csv_records import csv_records
from fraudcli.io.formats import Format, detect_format, open_binary
from fraudcli.io.lines import line_chunks
from fraudcli.io.parquet import parquet_record_batches
from fraudcli.records.rejects import Reject

Row = tuple[int, "str | None", "dict | Reject"]


def raw_rows(path: str | Path | None, renames: dict[str, str] | None = None) -> Iterator[Row]:
    renames = renames or {}
    fmt = detect_format(path)
    if fmt is Format.JSONL:
        if path is None or str(path) == "-":
            rows = _jsonl(sys.stdin.buffer)
        else:
            with open_binary(path) as stream:
                yield from _renamed(_jsonl(stream), renames)
            return
    elif fmt is Format.CSV:
        rows = _csv(Path(path))
    else:
        rows = _parquet(Path(path))
    yield from _renamed(rows, renames)


def _renamed(rows: Iterator[Row], renames: dict[str, str]) -> Iterator[Row]:
    for line, raw, row in rows:
        if isinstance(row, dict):
            for name, source in renames.items():
                if source in row:
                    row[name] = row.pop(source)
        yield line, raw, row


def _jsonl(stream) -> Iterator[Row]:
    line = 0
    for chunk in line_chunks(stream):
        for data in chunk:
            line += 1
            yield _json_row(data, line)


def _json_row(data: bytes | None, line: int) -> Row:
    if data is None:
        return line, None, Reject(line, "line longer than 1 MiB", "")
    try:
        text = data.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        shown = data[:200].decode("utf-8", "replace")
        return line, None, Reject(line, f"invalid UTF-8 at byte {exc.start}", shown)
    if not text.strip():
        return line, text, Reject(line, "empty line", text)
    try:
        row = json.loads(text)
    except (ValueError, RecursionError):
        return line, text, Reject(line, "malformed JSON", text)
    if not isinstance(row, dict):
        return line, text, Reject(line, "not a JSON object", text)
    return line, text, row


def _csv(path: Path) -> Iterator[Row]:
    for header, (line, raw, cells, reject) in csv_records(path):
        yield line, raw, reject if reject is not None else dict(zip(header, cells, strict=True))


def _parquet(path: Path) -> Iterator[Row]:
    first = 1
    for batch in parquet_record_batches(path, 65_536):
        for i, row in enumerate(batch.to_pylist()):
            yield first + i, None, row
        first += batch.num_rows
