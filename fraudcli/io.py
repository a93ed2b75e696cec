"""Readers in batches: Parquet, CSV, JSONL files and JSONL on stdin/stdout.

A reader yields batches of `Item`s: (line or row number, raw text or None, Txn or Reject).
Every input record yields exactly one item, so nothing is lost between reading and writing.
`Reject` and the `RejectSink` that counts and writes rejects are in `fraudcli.rejects`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fraudcli.columnar import clean_mask, clean_txns, renamed
from fraudcli.errors import InputError, UsageError
from fraudcli.rejects import Reject, _validated, dumps_raw
from fraudcli.schema import ColumnMap, Txn

MAX_LINE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20
_BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
FORMATS |= {".parquet": "parquet", ".pq": "parquet"}


Item = tuple[int, "str | None", "Txn | Reject"]


def detect_format(path: str | Path | None) -> str:
    """The format of a path by its extension; None or '-' is JSONL on stdin/stdout."""
    if path is None or str(path) == "-":
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise UsageError(f"cannot tell the format of {path}: use one of {known}")
    return FORMATS[suffix]


def read_batches(
    path: str | Path | None, columns: ColumnMap | None = None, batch_rows: int = 8192
) -> Iterator[list[Item]]:
    """Batches of items from a file (by extension) or from JSONL on stdin (path None or '-')."""
    fmt = detect_format(path)
    columns = columns or ColumnMap()
    if fmt == "jsonl":
        if path is None or str(path) == "-":
            yield from _jsonl_batches(sys.stdin.buffer, columns)
            return
        with _open(path) as stream:
            yield from _jsonl_batches(stream, columns)
    elif fmt == "csv":
        yield from _csv_batches(Path(path), columns, batch_rows)
    else:
        yield from _parquet_batches(Path(path), columns, batch_rows)


def ensure_readable(path: str | Path) -> Path:
    """`path` as a Path, or InputError saying plainly why it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"cannot read {path}: no such file")
    if not path.is_file():
        raise InputError(f"cannot read {path}: not a file")
    return path


def _open(path: str | Path) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller's with-block
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


# --- JSONL -----------------------------------------------------------------------------------


def _jsonl_batches(stream: BinaryIO, columns: ColumnMap) -> Iterator[list[Item]]:
    """Parse what is available now as one batch, so a piped record is decided at once."""
    line_no = 0
    for chunk in _line_chunks(stream):
        items = []
        for raw in chunk:
            line_no += 1
            items.append(parse_jsonl_line(raw, line_no, columns))
        yield items


def reader_of(stream: BinaryIO) -> Callable[[int], bytes]:
    """`stream`'s read (`read1` where there is one: what has arrived), a UTF-8 byte order mark
    at the very start left out (editors on Windows write one)."""
    read = getattr(stream, "read1", stream.read)
    first = True

    def read_skipping_bom(size: int) -> bytes:
        nonlocal first
        data = read(size)
        if first and data:
            first = False
            if data.startswith(_BOM):
                data = data[len(_BOM) :] or read(size)
        return data

    return read_skipping_bom


def _line_chunks(stream: BinaryIO) -> Iterator[list[bytes | None]]:
    """Lists of complete lines as they arrive; None stands for a line over MAX_LINE_BYTES."""
    read = reader_of(stream)
    tail = b""
    oversized = False  # inside a line already known to be too long: skip to its end
    while True:
        data = read(CHUNK_BYTES)
        if not data:
            break
        lines = (tail + data).split(b"\n")
        tail = lines.pop()
        if oversized and lines:
            lines[0] = None
            oversized = False
        lines = [line if line is None or len(line) <= MAX_LINE_BYTES else None for line in lines]
        if len(tail) > MAX_LINE_BYTES:
            tail, oversized = b"", True
        if lines:
            yield lines
    if oversized:
        yield [None]
    elif tail:
        yield [tail]


def parse_jsonl_line(raw: bytes | None, line_no: int, columns: ColumnMap) -> Item:
    """One JSONL line -> (line, text, Txn or Reject)."""
    if raw is None:
        return line_no, None, Reject(line_no, "line longer than 1 MiB", "")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        shown = raw[:200].decode("utf-8", "replace")
        return line_no, None, Reject(line_no, f"invalid UTF-8 at byte {exc.start}", shown)
    text = text.rstrip("\r")
    if not text.strip():
        return line_no, text, Reject(line_no, "empty line", text)
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return line_no, text, Reject(line_no, f"malformed JSON: {exc.msg} (col {exc.colno})", text)
    except RecursionError:
        return line_no, text, Reject(line_no, "malformed JSON: nested too deeply", text)
    if not isinstance(obj, dict):
        return line_no, text, Reject(line_no, f"not a JSON object but {_kind(obj)}", text)
    if "\\u" in text and not _encodable(obj):
        return line_no, text, Reject(line_no, "malformed JSON: a lone surrogate escape", text)
    return line_no, text, _validated(columns.apply(obj), line_no, text, lenient=False)


def _encodable(obj: dict) -> bool:
    """False if a \\uD800-\\uDFFF escape left half a surrogate pair, which no UTF-8 output
    can hold."""
    try:
        dumps_raw(obj).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(obj: object) -> str:
    return {list: "an array", str: "a string", type(None): "null"}.get(type(obj), "a number")


# --- CSV -------------------------------------------------------------------------------------


def _csv_batches(path: Path, columns: ColumnMap, batch_rows: int) -> Iterator[list[Item]]:
    items: list[Item] = []
    for header, (line_no, raw, row, reject) in csv_records(path):
        if reject is not None:
            items.append((line_no, raw, reject))
        else:
            obj = columns.apply(dict(zip(header, row, strict=True)))
            items.append((line_no, raw, _validated(obj, line_no, raw, lenient=True)))
        if len(items) >= batch_rows:
            yield items
            items = []
    if items:
        yield items


def csv_records(path: Path) -> Iterator[tuple[list[str], tuple]]:
    """Each row of a CSV file, as `csv_rows` gives it, beside the file's header."""
    with _open(path) as binary:
        text = _TextLines(binary)
        first = next(text, None)
        if first is None:
            return
        reader = csv.reader(chain([first], text), delimiter=_delimiter(first))
        header = next(reader)
        for row in csv_rows(reader, text, len(header)):
            yield header, row


def _delimiter(header: str) -> str:
    """The separator of a CSV file, from its header line: of comma, semicolon, tab and bar,
    the one that makes the most columns (a comma on a tie)."""
    return max(",;\t|", key=lambda d: len(next(csv.reader([header], delimiter=d))))


class _TextLines:
    """Binary lines -> text lines for the csv module; remembers the last bad-UTF-8 line."""

    def __init__(self, binary: BinaryIO) -> None:
        self._binary = binary
        self.bad_utf8: str | None = None
        self._first = True

    def __iter__(self) -> _TextLines:
        return self

    def __next__(self) -> str:
        raw = self._binary.readline(MAX_LINE_BYTES + 2)
        if not raw:
            raise StopIteration
        if self._first:
            self._first = False
            raw = raw.removeprefix(_BOM)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_utf8 = raw.decode("utf-8", "replace").rstrip("\r\n")
            return "\x00BAD-UTF8\x00\n"


def csv_rows(reader, text: _TextLines, width: int) -> Iterator[tuple]:
    """The rows of a CSV file as `(line, raw, cells, None)` when a row has the header's
    `width` of cells, else `(line, raw, None, reject)`: malformed CSV, invalid UTF-8, an
    empty line or a row of another width."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, None, None, Reject(reader.line_num, f"malformed CSV: {exc}", "")
            continue
        line_no = reader.line_num
        raw = ",".join(row)
        if row == ["\x00BAD-UTF8\x00"]:
            yield line_no, None, None, Reject(line_no, "invalid UTF-8", text.bad_utf8 or "")
        elif not row or not any(cell.strip() for cell in row):
            yield line_no, raw, None, Reject(line_no, "empty line", raw)
        elif len(row) != width:
            reason = f"{len(row)} cells where the header has {width}"
            yield line_no, raw, None, Reject(line_no, reason, raw)
        else:
            yield line_no, raw, row, None


# --- Parquet ---------------------------------------------------------------------------------


def _parquet_batches(path: Path, columns: ColumnMap, batch_rows: int) -> Iterator[list[Item]]:
    first = 1
    for batch in parquet_record_batches(path, batch_rows):
        yield _batch_items(batch, columns, first)
        first += batch.num_rows


def parquet_record_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The file's record batches; InputError (with the row reached) if it cannot be read."""
    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} as Parquet: {exc}") from None
    done = 0
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            yield batch
            done += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read {path} after row {done}: {exc}") from None


def _batch_items(batch: pa.RecordBatch, columns: ColumnMap, first: int) -> list[Item]:
    """Clean rows validated by column kernels; every other row by the one-record checks."""
    data = renamed(batch, columns)
    mask = clean_mask(data, batch.num_rows)
    fast = iter(clean_txns(data, np.flatnonzero(mask)))
    names = list(data)
    slow_rows = None
    items: list[Item] = []
    for i, ok in enumerate(mask.tolist()):
        if ok:
            items.append((first + i, None, next(fast)))
            continue
        if slow_rows is None:
            slow_rows = [_column_values(data[name]) for name in names]
        obj = {name: values[i] for name, values in zip(names, slow_rows, strict=True)}
        items.append((first + i, None, _validated(obj, first + i, None, lenient=False)))
    return items


def _column_values(column: pa.Array) -> list:
    """Python values of a column; timestamps become epoch seconds (cheaper than datetimes)."""
    if pa.types.is_timestamp(column.type):
        unit = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[column.type.unit]
        as_int = column.cast(pa.int64()).to_pylist()
        return [None if v is None else v / unit for v in as_int]
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column.to_pylist()


def count_rows(path: str | Path | None) -> int | None:
    """Records in a file, for progress bars: the Parquet footer, or the lines of a text file
    (about 0.1 s per 100 MB); None for stdin or what cannot be read."""
    if path is None or str(path) == "-":
        return None
    try:
        if detect_format(path) == "parquet":
            return pq.ParquetFile(path).metadata.num_rows
        with open(path, "rb") as stream:
            lines = sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))
    except (OSError, pa.ArrowException, UsageError):
        return None
    return max(lines - 1, 0) if detect_format(path) == "csv" else lines
