"""JSONL for the record path: each line parsed by the standard library into a `Txn` or a
`Reject`, in batches of what has arrived (so a piped line is decided at once)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import BinaryIO

from fraudcli.io.lines import line_chunks
from fraudcli.records.rejects import Item, Reject, dumps_raw, validated
from fraudcli.records.schema import ColumnMap


def jsonl_batches(stream: BinaryIO, columns: ColumnMap) -> Iterator[list[Item]]:
    """Parse what is available now as one batch, so a piped record is decided at once."""
    line_no = 0
    for chunk in line_chunks(stream):
        items = []
        for raw in chunk:
            line_no += 1
            items.append(parse_jsonl_line(raw, line_no, columns))
        yield items


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
    except json.JSONDecodeError as exc:
        return line_no, text, Reject(line_no, f"malformed JSON: {exc.msg} (col {exc.colno})", text)
    except ValueError:  # an integer of more digits than Python converts (sys.int_info)
        return line_no, text, Reject(line_no, "malformed JSON: a number with too many digits", text)
    except RecursionError:
        return line_no, text, Reject(line_no, "malformed JSON: nested too deeply", text)
    if not isinstance(obj, dict):
        return line_no, text, Reject(line_no, f"not a JSON object but {_kind(obj)}", text)
    if "\\u" in text and not _encodable(obj):
        return line_no, text, Reject(line_no, "malformed JSON: a lone surrogate escape", text)
    return line_no, text, validated(columns.apply(obj), line_no, text, lenient=False)


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
