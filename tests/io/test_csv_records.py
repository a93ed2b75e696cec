"""The record path's CSV reader: line numbers, types, rejects, separators."""

from __future__ import annotations

import pytest

from fraudcli.io.read import read_batches
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import ColumnMap, Txn
from tests.helpers import items_of


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
