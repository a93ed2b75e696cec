"""encode_jsonl writes exactly the bytes JsonlWriter writes for the same rows."""

from __future__ import annotations

import contextlib
import io
import json
import math
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.io.jsonl_encode import encode_jsonl, jsonl_chunks
from fraudcli.io.writers import JsonlWriter


def writer_bytes(rows: list[dict]) -> bytes:
    """What JsonlWriter writes for `rows` (the definition of right)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        writer = JsonlWriter(None)
        writer.write(rows)
        writer.close()
    return out.getvalue().encode()


def dumps(row: dict) -> str:
    """The oracle: json.dumps, except that NaN and infinities are null (JSON has neither)."""
    return json.dumps(_finite(row), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# Floats where Arrow's layout and repr's part ways: around powers of ten and their neighbours.
EDGES = [
    float(f"{sign}1e{k}") for sign in "+-" for k in (-10, -9, -7, -6, -5, -4, 0, 9, 10, 15, 16)
]
EDGES += [float(np.nextafter(x, d)) for x in EDGES for d in (-np.inf, np.inf)]
SPECIAL = '"\\\n\r\t\b\f\x00\x01\x1f\x7f\u2028\u2029é€😀'

ANY_CHAR = st.characters(codec="utf-8")
ALPHABETS = [
    ANY_CHAR,
    st.sampled_from(SPECIAL) | ANY_CHAR,
    *(st.sampled_from("a" + c) for c in SPECIAL),
]
TEXT = st.text(st.sampled_from(SPECIAL) | ANY_CHAR, max_size=8)
FLOATS = st.one_of(
    st.floats(),
    st.integers(-(10**17), 10**17).map(float),
    st.builds(lambda m, k: round(m, 6) * 10.0**k, st.floats(-10, 10), st.integers(-12, 18)),
    st.sampled_from(EDGES),
)


def column_kinds(text: st.SearchStrategy[str]) -> dict[str, tuple[pa.DataType, st.SearchStrategy]]:
    """Arrow type and value strategy of each kind of column; strings drawn from `text`."""
    return {
        "string": (pa.string(), text),
        "large_string": (pa.large_string(), text),
        "dictionary": (pa.dictionary(pa.int32(), pa.string()), st.sampled_from(["ALLOW", 'a"b'])),
        "float64": (pa.float64(), FLOATS),
        "float32": (pa.float32(), st.floats(width=32)),
        "int8": (pa.int8(), st.integers(-128, 127)),
        "int64": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
        "uint64": (pa.uint64(), st.integers(0, 2**64 - 1)),
        "bool": (pa.bool_(), st.booleans()),
        "list<string>": (pa.list_(pa.string()), st.lists(st.none() | text, max_size=3)),
        "large_list<float64>": (
            pa.large_list(pa.float64()),
            st.lists(st.none() | FLOATS, max_size=3),
        ),
        "timestamp": (pa.timestamp("us", "UTC"), st.datetimes(timezones=st.just(UTC))),
        "struct": (pa.struct([("a", pa.int64())]), st.fixed_dictionaries({"a": st.integers(0, 9)})),
    }


@st.composite
def tables(draw) -> pa.Table:
    """A table of 1-5 random columns, built from two batches and sliced (so every array has
    offsets and the encoder sees more than one chunk); its strings share one alphabet, so that
    one character needing escape is sometimes the only one."""
    n = draw(st.integers(0, 12))
    names = draw(st.lists(TEXT, min_size=1, max_size=5, unique=True))
    kinds = column_kinds(st.text(draw(st.sampled_from(ALPHABETS)), max_size=8))
    columns = []
    for _ in names:
        kind, values = kinds[draw(st.sampled_from(sorted(kinds)))]
        if draw(st.booleans()):
            values = st.none() | values
        columns.append(pa.array(draw(st.lists(values, min_size=n + 3, max_size=n + 3)), kind))
    whole = pa.table(columns, names=names)
    cut = draw(st.integers(0, n + 3))
    parts = pa.Table.from_batches(
        [*whole.slice(0, cut).to_batches(), *whole.slice(cut).to_batches()]
    )
    return parts.slice(draw(st.integers(0, 3)), n)


@settings(max_examples=200, deadline=None)
@given(tables(), st.data())
def test_same_bytes_as_jsonl_writer(table, data):
    rows = table.to_pylist()
    replaced = data.draw(st.sets(st.integers(0, max(len(rows) - 1, 0)), max_size=len(rows)))
    for i in replaced:
        rows[i] = {"override": i, "text": data.draw(TEXT)}
    overrides = {i: dumps(rows[i]) for i in replaced}
    assert encode_jsonl(table, overrides) == writer_bytes(rows)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ALPHABETS).flatmap(lambda a: st.lists(st.none() | st.text(a), max_size=6)))
def test_strings_escape_as_json_dumps(strings):
    """Strings and lists of them, one alphabet at a time: a lone `\\` or `"` must be found."""
    schema = pa.schema({"s": pa.string(), "l": pa.list_(pa.string())})
    rows = [{"s": s, "l": [s, "x"]} for s in strings]
    assert encode_jsonl(pa.Table.from_pylist(rows, schema)) == writer_bytes(rows)


def test_floats_over_the_whole_range_print_as_repr():
    """Many doubles from random bits and random decimals, each as json.dumps writes it."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**64, 40_000, dtype=np.uint64).view(np.float64)
    scale = 10.0 ** rng.integers(0, 8, 40_000)
    decimals = np.rint(rng.uniform(-10, 10, 40_000) * scale) / scale
    decades = decimals * 10.0 ** rng.integers(-12, 19, 40_000)
    x = np.concatenate([bits, decimals, decades, EDGES, [0.0, -0.0, 5e-324, 2.0**53]])
    lines = encode_jsonl(pa.table({"x": x})).decode().splitlines()
    assert lines == [dumps({"x": v}) for v in x.tolist()]


def test_a_score_row():
    table = pa.table(
        {
            "transaction_id": ["tx-1", "tx-2"],
            "amount": [12.0, 1e16],
            "fraud_probability": [1e-05, 0.5],
            "decision": ["ALLOW", "BLOCK"],
            "reasons": [[], ["rule:x", "model:amount=+1.23"]],
        }
    )
    assert encode_jsonl(table) == (
        b'{"transaction_id":"tx-1","amount":12.0,"fraud_probability":1e-05,'
        b'"decision":"ALLOW","reasons":[]}\n'
        b'{"transaction_id":"tx-2","amount":1e+16,"fraud_probability":0.5,'
        b'"decision":"BLOCK","reasons":["rule:x","model:amount=+1.23"]}\n'
    )


def test_record_batches_and_chunks_give_the_same_bytes():
    batch = pa.record_batch({"s": ["a\nb", "c"], "t": [datetime(2026, 3, 2, tzinfo=UTC), None]})
    assert encode_jsonl(batch) == b"".join(jsonl_chunks(batch)) == writer_bytes(batch.to_pylist())


@pytest.mark.parametrize(
    "table",
    [
        pa.Table.from_arrays([pa.array([1]), pa.array(["x"])], names=["k", "k"]),
        pa.table({"a": [1, 2]}).drop_columns(["a"]),
    ],
    ids=["repeated names", "no columns"],
)
def test_tables_encoded_row_by_row(table):
    assert encode_jsonl(table) == writer_bytes(table.to_pylist())


def test_overrides_must_name_rows_of_the_table():
    with pytest.raises(IndexError):
        encode_jsonl(pa.table({"a": [1]}), {1: "{}"})
