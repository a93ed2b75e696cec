"""CSV for the record path: rows split by the `csv` module, each validated into a `Txn` or a
`Reject` (malformed CSV, bad UTF-8, empty or ragged rows)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

from fraudcli.io.formats import open_binary
from fraudcli.io.lines import BAD_UTF8, MAX_LINE_BYTES, TOO_LONG, TextLines
from fraudcli.records.rejects import Item, Reject, validated
from fraudcli.records.schema import ColumnMap

# a cell may be as long as a line may (the csv module's default limit is 128 KiB)
csv.field_size_limit(MAX_LINE_BYTES + 2)


def csv_batches(path: Path, columns: ColumnMap, batch_rows: int) -> Iterator[list[Item]]:
    items: list[Item] = []
    for header, (line_no, raw, row, reject) in csv_records(path):
        if reject is not None:
            items.append((line_no, raw, reject))
        else:
            obj = columns.apply(dict(zip(header, row, strict=True)))
            items.append((line_no, raw, validated(obj, line_no, raw, lenient=True)))
        if len(items) >= batch_rows:
            yield items
            items = []
    if items:
        yield items


def csv_records(path: Path) -> Iterator[tuple[list[str], tuple]]:
    """Each row of a CSV file, as `csv_rows` gives it, beside the file's header."""
    with open_binary(path) as binary:
        text = TextLines(binary)
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


def csv_rows(reader, text: TextLines, width: int) -> Iterator[tuple]:
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
        if row == [BAD_UTF8]:
            yield line_no, None, None, Reject(line_no, "invalid UTF-8", text.bad_utf8 or "")
        elif row == [TOO_LONG]:
            yield line_no, None, None, Reject(line_no, "line longer than 1 MiB", "")
        elif not row or not any(cell.strip() for cell in row):
            yield line_no, raw, None, Reject(line_no, "empty line", raw)
        elif len(row) != width:
            reason = f"{len(row)} cells where the header has {width}"
            yield line_no, raw, None, Reject(line_no, reason, raw)
        else:
            yield line_no, raw, row, None
