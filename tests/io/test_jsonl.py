"""The record path's JSONL reader: every bad line is one reject, nothing is lost."""

from __future__ import annotations

import io
import sys

from fraudcli.io.lines import MAX_LINE_BYTES
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import Txn
from tests.helpers import items_of, line


def test_jsonl_bad_input_each_yields_one_reject(tmp_path):
    lines = [
        line(transaction_id="ok1"),
        b"{not json",
        b"[1, 2]",
        b"",
        b"   ",
        line(transaction_id="t2", amount=None),
        line(transaction_id="t3", amount="ten"),
        b'{"transaction_id": "t4", "timestamp": "2026-01-01T10:00:00Z", "user_id": "u",'
        b' "amount": NaN}',
        line(transaction_id="t5", amount=-3),
        line(transaction_id="t6", amount=1e15),
        line(transaction_id="t7", timestamp="not a time"),
        line(transaction_id="t8", timestamp="1900-01-01T00:00:00Z"),
        b'{"transaction_id": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}',
        b'{"transaction_id": "t9\xff\xfe"}',
        line(transaction_id="ok2"),
        b'"just a string"',
    ]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    items = items_of(path)
    assert [n for n, _, _ in items] == list(range(1, len(lines) + 1))  # one item per line
    rejects = {n: item.reason for n, _, item in items if isinstance(item, Reject)}
    assert set(rejects) == set(range(2, 15)) | {16}
    assert "malformed JSON" in rejects[2]
    assert "not a JSON object but an array" in rejects[3]
    assert rejects[4] == rejects[5] == "empty line"
    assert "missing required field 'amount'" in rejects[6]
    assert "must be a number" in rejects[7]
    assert "finite" in rejects[8]
    assert "negative" in rejects[9]
    assert "absurdly large" in rejects[10]
    assert "ISO-8601" in rejects[11]
    assert "out of range" in rejects[12]
    assert rejects[13] == "line longer than 1 MiB"
    assert "invalid UTF-8" in rejects[14]
    assert "a string" in rejects[16]
    raw = {n: item.raw for n, _, item in items if isinstance(item, Reject)}
    assert raw[2] == "{not json"


def test_last_line_without_newline_and_crlf(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(line(transaction_id="a") + b"\r\n" + line(transaction_id="b"))
    items = items_of(path)
    assert [item.transaction_id for _, _, item in items] == ["a", "b"]


def test_oversized_line_split_across_chunks_is_one_reject(tmp_path):
    big = b'{"x": "' + b"y" * (3 * MAX_LINE_BYTES) + b'"}'
    path = tmp_path / "in.jsonl"
    path.write_bytes(line(transaction_id="a") + b"\n" + big + b"\n" + line(transaction_id="b"))
    items = items_of(path)
    kinds = [type(item).__name__ for _, _, item in items]
    assert kinds == ["Txn", "Reject", "Txn"]
    assert [n for n, _, _ in items] == [1, 2, 3]


def test_stdin_jsonl(monkeypatch):
    data = line(transaction_id="a") + b"\n" + b"oops\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    items = items_of(None)
    assert isinstance(items[0][2], Txn) and isinstance(items[1][2], Reject)
