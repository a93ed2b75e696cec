"""Validation of one record: every accepted form and every reject reason."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.records.field_checks import RecordError
from fraudcli.records.schema import ColumnMap, validate
from fraudcli.records.timestamps import format_timestamp, parse_timestamp

GOOD = {
    "transaction_id": "t1",
    "timestamp": "2026-01-01T10:00:00Z",
    "user_id": "u1",
    "amount": 12.5,
}


def with_(**changes):
    record = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


def test_minimal_record_is_valid_and_extras_pass_through():
    txn = validate(with_(foo={"a": 1}, merchant_id="m1"))
    assert txn.transaction_id == "t1" and txn.user_id == "u1" and txn.amount == 12.5
    assert txn.ts == 1767261600.0
    assert txn.merchant_id == "m1"
    assert txn.extras == {"foo": {"a": 1}}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-01-01T10:00:00Z", 1767261600.0),
        ("2026-01-01T10:00:00", 1767261600.0),  # no zone means UTC
        ("2026-01-01T11:00:00+01:00", 1767261600.0),
        ("2026-01-01 10:00:00.500", 1767261600.5),
        (1767261600, 1767261600.0),  # epoch seconds
        (1767261600000, 1767261600.0),  # epoch milliseconds
        (1767261600.25, 1767261600.25),
    ],
)
def test_timestamp_forms(value, expected):
    assert parse_timestamp(value) == pytest.approx(expected)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"transaction_id": ...}, "missing required field 'transaction_id'"),
        ({"user_id": ""}, "missing required field 'user_id'"),
        ({"amount": ...}, "missing required field 'amount'"),
        ({"timestamp": ...}, "missing required field 'timestamp'"),
        ({"amount": "12"}, "'amount' must be a number"),
        ({"amount": True}, "'amount' must be a number, got a boolean"),
        ({"amount": float("nan")}, "'amount' must be finite"),
        ({"amount": float("inf")}, "'amount' must be finite"),
        ({"amount": -1}, "'amount' must not be negative"),
        ({"amount": 1e12}, "absurdly large"),
        ({"timestamp": "yesterday"}, "'timestamp' is not ISO-8601"),
        ({"timestamp": "1850-01-01T00:00:00Z"}, "out of range"),
        ({"timestamp": 5}, "out of range"),
        ({"user_id": 1.5}, "'user_id' must be a string"),
        ({"transaction_id": ["x"]}, "'transaction_id' must be a string"),
        ({"country": "USA"}, "'country' must be an ISO-3166 alpha-2"),
        ({"lat": 91, "lon": 0}, "'lat' must be within"),
        ({"lon": "east", "lat": 1}, "'lon' must be a number"),
        ({"is_fraud": 2}, "'is_fraud' must be 0 or 1"),
        ({"merchant_id": {"a": 1}}, "'merchant_id' must be a string"),
    ],
)
def test_reject_reasons(changes, reason):
    with pytest.raises(RecordError, match=None) as info:
        validate(with_(**changes))
    assert reason in str(info.value)


def test_lenient_accepts_numbers_as_strings_for_csv():
    txn = validate(
        with_(amount="12.50", timestamp="1767261600", lat="1.5", lon="2", is_fraud="1"),
        lenient=True,
    )
    assert (txn.amount, txn.ts, txn.lat, txn.lon, txn.is_fraud) == (12.5, 1767261600.0, 1.5, 2.0, 1)


def test_optional_fields_normalise():
    txn = validate(with_(country="fr", is_fraud=True, lat=1.0))  # half a location is dropped
    assert txn.country == "FR" and txn.is_fraud == 1 and txn.lat is None


def test_integer_ids_become_strings():
    txn = validate(with_(transaction_id=42, user_id=7))
    assert (txn.transaction_id, txn.user_id) == ("42", "7")


def test_column_map_renames_and_rejects_unknown_fields():
    mapping = ColumnMap.from_dict({"user_id": "CUSTOMER_ID", "amount": "TX_AMOUNT"})
    record = mapping.apply({"CUSTOMER_ID": "c9", "TX_AMOUNT": 3.0, "x": 1})
    assert record == {"user_id": "c9", "amount": 3.0, "x": 1}
    with pytest.raises(ValueError, match="unknown schema field"):
        ColumnMap.from_dict({"customer": "CUSTOMER_ID"})


def test_format_timestamp_round_trips():
    for ts in (1767261600.0, 1767261600.25, 946684800.0, 1767312000.999):
        assert parse_timestamp(format_timestamp(ts)) == pytest.approx(ts, abs=1e-3)
    assert format_timestamp(1767261600.0) == "2026-01-01T10:00:00Z"
    assert not math.isnan(parse_timestamp("2026-06-30T23:59:59.999Z"))


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.sampled_from(
        [
            "US",
            "us",
            "FR",
            "",
            "u1",
            "2026-01-01T10:00:00Z",
            "2026-13-01T10:00:00Z",
            "2026-01-01T24:00:00Z",
            "1999-01-01T10:00:00Z",
            "2026-01-01T10:00:0xZ",
        ]
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(list(GOOD) + ["country", "lat", "lon", "is_fraud", "merchant_id", "extra"]),
        values,
    )
)
def test_fast_path_agrees_with_full_checks(changes):
    """The fast path accepts only what the full checks accept, with the same result."""
    from fraudcli.records.schema import validate_fast, validate_slow

    record = GOOD | changes
    fast = validate_fast(record)
    if fast is None:
        return
    assert fast == validate_slow(record, lenient=False)
