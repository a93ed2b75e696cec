"""Readers and writers: every bad-input case is one reject, nothing is lost, round trips hold."""

from __future__ import annotations

import io
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudcli.io.formats import count_rows, detect_format
from fraudcli.io.lines import MAX_LINE_BYTES
from fraudcli.io.read import read_batches
from fraudcli.io.writers import open_writer, write_table
from fraudcli.records.rejects import Reject, RejectSink
from fraudcli.records.schema import ColumnMap, Txn

GOOD = {"transaction_id": "t1", "timestamp": "2026-01-01T10:00:00Z", "user_id": "u1", "amount": 5}


def line(**changes) -> bytes:
    return json.dumps(GOOD | changes).encode()


def items_of(path, columns=None):
    return [item for batch in read_batches(path, columns) for item in batch]


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


def test_csv_reader_lines_types_and_rejects(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(
        b"TX_ID,TX_DATETIME,CUSTOMER_ID,TX_AMOUNT,extra\n"
        b"a,2026-01-01 10:00:00,c1,12.5,keep\n"
        b"b,2026-01-01 10:00:00,c1,abc,x\n"
        b"c,2026-01-01 10:00:00,c1\n"
        b",,,,\n"
        b"d,2026-01-01 10:00:00,c\xff,1,x\n"
        b"e,1767261600,c2,3,y\n"
    )
    mapping = ColumnMap.from_dict(
        {
            "transaction_id": "TX_ID",
            "timestamp": "TX_DATETIME",
            "user_id": "CUSTOMER_ID",
            "amount": "TX_AMOUNT",
        }
    )
    items = items_of(path, mapping)
    assert [n for n, _, _ in items] == [2, 3, 4, 5, 6, 7]
    first = items[0][2]
    assert isinstance(first, Txn) and first.amount == 12.5 and first.extras == {"extra": "keep"}
    reasons = [item.reason for _, _, item in items if isinstance(item, Reject)]
    assert "'amount' is not a number" in reasons[0]
    assert "3 cells where the header has 5" in reasons[1]
    assert reasons[2] == "empty line"
    assert reasons[3] == "invalid UTF-8"
    assert isinstance(items[5][2], Txn) and items[5][2].ts == 1767261600.0


def test_parquet_reader_row_numbers_and_timestamps(tmp_path):
    table = pa.table(
        {
            "transaction_id": ["a", "b", None],
            "timestamp": pa.array(
                [1767261600000, 1767261601000, 1767261602000], pa.timestamp("ms", "UTC")
            ),
            "user_id": ["u", "u", "u"],
            "amount": [1.0, -2.0, 3.0],
            "fraud_pattern": ["x", None, None],
        }
    )
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    items = items_of(path)
    assert [n for n, _, _ in items] == [1, 2, 3]
    assert items[0][2].ts == 1767261600.0 and items[0][2].extras == {"fraud_pattern": "x"}
    assert "negative" in items[1][2].reason and '"amount": -2.0' in items[1][2].raw
    assert "transaction_id" in items[2][2].reason
    assert count_rows(path) == 3


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_writers_round_trip(tmp_path, suffix):
    rows = [
        {"transaction_id": f"t{i}", "amount": float(i), "reasons": ["a", "b"]} for i in range(5)
    ]
    path = tmp_path / f"out{suffix}"
    writer = open_writer(path)
    writer.write(rows[:2])
    writer.write(rows[2:])
    writer.close()
    if suffix == ".jsonl":
        back = [json.loads(x) for x in path.read_text().splitlines()]
        assert back == rows
    elif suffix == ".parquet":
        assert pq.read_table(path).to_pylist() == rows
    else:
        text = path.read_text().splitlines()
        assert text[0] == '"transaction_id","amount","reasons"' and text[1] == '"t0",0,"a; b"'


def test_write_table_jsonl_to_stdout(capsys):
    table = pa.table({"a": [1, 2]})
    write_table(table, None)
    assert capsys.readouterr().out == '{"a":1}\n{"a":2}\n'


def test_reject_sink_writes_jsonl(tmp_path):
    sink = RejectSink(tmp_path / "rejects.jsonl")
    sink.add(Reject(3, "empty line", ""))
    sink.add(Reject(7, "malformed JSON: x", "{"))
    sink.close()
    rows = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert rows[1] == {"line": 7, "reason": "malformed JSON: x", "raw": "{"}
    assert sink.count == 2 and sink.reasons == {"empty line": 1, "malformed JSON": 1}


def test_unknown_extension_is_a_usage_error():
    from fraudcli.errors import UsageError

    with pytest.raises(UsageError, match="cannot tell the format"):
        detect_format("data.xlsx")
    assert detect_format("-") == detect_format(None) == "jsonl"


# timestamp columns of every type a Parquet file may hold them in, with values good and bad
STAMPS = {
    "timestamp[ms]": pa.array(
        [1767261600000, 1767261600500, None, 100, 5000000000000], pa.timestamp("ms", "UTC")
    ),
    "iso text": pa.array(
        [
            "2026-01-01T10:00:00Z",
            "2026-01-01T10:00:00+02:00",
            "2026-01-01T10:00:00.5Z",
            "2026-02-30T00:00:00Z",
            "1999-12-31T23:59:59Z",
            "2026-01-01 10:00:00",
            "later",
            "",
            None,
            "2028-02-29T23:59:59Z",
        ]
    ),  # fmt: skip
    "epoch integers": pa.array([1767261600, 1767261600123, 100, -1767261600, None, 4102444800]),
    "epoch floats": pa.array(
        [1767261600.5, 1.7672616001235e12, float("nan"), float("inf"), None, 946684800.0]
    ),
}


@pytest.mark.parametrize("stamps", list(STAMPS))
def test_parquet_column_checks_agree_with_one_record_checks(tmp_path, stamps):
    """Rows the column kernels accept equal what `validate` makes of them; the rest are
    validated one by one, so both paths give the same items for a messy table."""
    import numpy as np

    from fraudcli.io.parquet import batch_items
    from fraudcli.records.schema import RecordError, validate

    rng = np.random.default_rng(3)
    n = 400

    def pick(options):
        return [options[i] for i in rng.integers(0, len(options), n)]

    table = pa.table(
        {
            "transaction_id": pick(["a", "b", "", None, "c"]),
            "timestamp": STAMPS[stamps].take(rng.integers(0, len(STAMPS[stamps]), n)),
            "user_id": pick(["u", "v", None, ""]),
            "amount": pick([1.5, 0.0, -1.0, float("nan"), float("inf"), 2e7, None, 3.0]),
            "country": pick(["US", "us", "USA", None, "", "FR"]),
            "lat": pick([1.0, None, 95.0, -45.5]),
            "lon": pick([2.0, None, 200.0, 100.0]),
            "merchant_id": pick(["m", "", None]),
            "is_fraud": pa.array(pick([0, 1, 2, None]), pa.int64()),
            "note": pick(["x", None]),
        }
    )
    items = batch_items(table.to_batches()[0], ColumnMap(), 1)
    rows = table.to_pylist()
    for (line, _, item), row in zip(items, rows, strict=True):
        if hasattr(row["timestamp"], "timestamp"):
            row["timestamp"] = row["timestamp"].timestamp()
        try:
            expected = validate(row)
        except RecordError as exc:
            assert isinstance(item, Reject) and item.reason == str(exc), line
        else:
            assert item == expected, line


def test_parquet_decimal_amounts_read_as_the_floats_they_round_to(tmp_path):
    from decimal import Decimal

    amounts = [Decimal("12.34"), Decimal("0.10"), Decimal("9999999.99"), None, Decimal("-1.00")]
    table = pa.table(
        {
            "transaction_id": [f"t{i}" for i in range(5)],
            "timestamp": [f"2026-01-01T00:00:0{i}Z" for i in range(5)],
            "user_id": ["u"] * 5,
            "amount": pa.array(amounts, pa.decimal128(9, 2)),
            "fee": pa.array([Decimal("0.5")] * 5, pa.decimal128(3, 1)),
        }
    )
    path = tmp_path / "decimal.parquet"
    pq.write_table(table, path)
    items = [item for batch in read_batches(path) for _, _, item in batch]
    assert [t.amount for t in items[:3]] == [12.34, 0.1, 9999999.99]
    assert items[0].extras == {"fee": 0.5}
    assert [r.reason for r in items[3:]] == [
        "missing required field 'amount'",
        "'amount' must not be negative, got -1.0",
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_byte_order_mark_at_the_start_is_left_out(tmp_path, suffix):
    rows = [{"transaction_id": f"t{i}", "timestamp": 1767225600 + i, "user_id": "u", "amount": 2}
            for i in range(3)]  # fmt: skip
    if suffix == ".jsonl":
        text = "".join(json.dumps(r) + "\n" for r in rows)
    else:
        text = "transaction_id,timestamp,user_id,amount\n"
        text += "".join(f"{r['transaction_id']},{r['timestamp']},u,2\n" for r in rows)
    plain, marked = tmp_path / f"plain{suffix}", tmp_path / f"marked{suffix}"
    plain.write_text(text)
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    got = [item for batch in read_batches(marked) for item in batch]
    assert got == [item for batch in read_batches(plain) for item in batch]
    assert all(isinstance(item, Txn) for _, _, item in got) and len(got) == 3


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_csv_separators_other_than_a_comma(tmp_path, separator):
    lines = [
        ["transaction_id", "timestamp", "user_id", "amount", "note"],
        ["t1", "2026-01-01T00:00:00Z", "u", "2.5", "a, b"],
        ["t2", "2026-01-01T00:00:01Z", "u", "3", ""],
    ]
    comma, other = tmp_path / "comma.csv", tmp_path / "other.csv"
    comma.write_text("".join(",".join(f'"{v}"' for v in line) + "\n" for line in lines))
    other.write_text("".join(separator.join(line) + "\n" for line in lines))
    got = [item for _, _, item in next(read_batches(other))]
    assert got == [item for _, _, item in next(read_batches(comma))]
    assert got[0].extras == {"note": "a, b"} and got[1].amount == 3.0
