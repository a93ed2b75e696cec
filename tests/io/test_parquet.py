"""Parquet input: row numbers, timestamp types, decimal amounts, and the column checks equal
to the one-record checks."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudcli.io.formats import count_rows
from fraudcli.io.read import read_batches
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import ColumnMap
from tests.helpers import items_of

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


@pytest.mark.parametrize("stamps", list(STAMPS))
def test_parquet_column_checks_agree_with_one_record_checks(tmp_path, stamps):
    """Rows the column kernels accept equal what `validate` makes of them; the rest are
    validated one by one, so both paths give the same items for a messy table."""
    import numpy as np

    from fraudcli.io.parquet import batch_items
    from fraudcli.records.field_checks import RecordError
    from fraudcli.records.schema import validate

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
