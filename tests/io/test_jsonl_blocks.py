"""The Arrow JSONL reader gives, line by line, exactly what the record path's reader gives."""

from __future__ import annotations

import io
import json
import random
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fraudcli.io._arrow_json as ja
import fraudcli.io.jsonl as fio
import fraudcli.io.jsonl_blocks as jc
import fraudcli.io.lines as lines
from fraudcli.io.jsonl import jsonl_batches
from fraudcli.io.jsonl_blocks import jsonl_blocks
from fraudcli.records.iso_columns import canonical_seconds
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import ColumnMap, Txn
from fraudcli.samples import sample_path

SMALL_MAX = 300  # MAX_LINE_BYTES in the Hypothesis test, so oversized lines stay cheap
STAMP = "2026-01-01T10:00:00Z"


class Pipe(io.RawIOBase):
    """A stream whose reads return at most the next of `sizes` bytes, like a pipe."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._sizes, self._reads = data, sizes or [1 << 30], 0

    def read1(self, n: int = -1) -> bytes:
        size = min(self._sizes[self._reads % len(self._sizes)], n)
        chunk, self._data = self._data[:size], self._data[size:]
        self._reads += 1
        return chunk


def reference(data: bytes, columns: ColumnMap) -> list[tuple[int, Txn | Reject]]:
    """The record path's items."""
    batches = jsonl_batches(io.BytesIO(data), columns)
    return [(n, item) for batch in batches for n, _, item in batch]


def columnar(stream, columns: ColumnMap, block_bytes: int = 1 << 20) -> list:
    """The blocks' records and rejects as (line, Txn or Reject), in line order."""
    items = []
    for block in jsonl_blocks(stream, columns, block_bytes):
        rows = {key: array.to_pylist() for key, array in block.data.items()}
        found = {reject.line: reject for reject in block.rejects}
        carried = {key: array.to_pylist() for key, array in block.passthrough.items()}
        for j, line in enumerate(block.lines.tolist()):
            values = {key: rows[key][j] for key in rows}
            ts_text = values.pop("ts_text")
            extras = block.extras.get(j)
            if extras is None and carried:
                extras = {key: column[j] for key, column in carried.items()}
            found[line] = Txn(**values, extras=extras or None, ts_text=ts_text)
        assert len(found) == block.n_read
        items += sorted(found.items())
    return items


def shown(item: Txn | Reject) -> str:
    """Every field, ts_text, -0.0 and the order of extras included."""
    return repr(item) + (repr(item.ts_text) if isinstance(item, Txn) else "")


def assert_same(data: bytes, columns=None, sizes=(), block_bytes=1 << 20, expected=None):
    columns = columns or ColumnMap()
    expected = expected or reference(data, columns)
    got = columnar(Pipe(data, list(sizes)), columns, block_bytes)
    assert [n for n, _ in got] == [n for n, _ in expected] == list(range(1, len(expected) + 1))
    for (n, mine), (_, theirs) in zip(got, expected, strict=True):
        assert shown(mine) == shown(theirs), f"line {n}: {data.splitlines()[n - 1][:300]!r}"


def record_line(**fields) -> bytes:
    record = {"transaction_id": "t", "timestamp": STAMP, "user_id": "u", "amount": 5} | fields
    return json.dumps(record, separators=(",", ":")).encode()


MESSES = [
    b"", b"   ", b"\t", b"{", b"[1, 2]", b'"text"', b"42", b"null", b"{}", b"\xff\xfe{}",
    b'{"transaction_id":"a\\u00e9","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":1}',
    b'{"transaction_id":"\\ud800","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":1}',
    b'{"transaction_id":"a","timestamp":"2026-01-01T10:00:00Z","user_id":"u\\u003a","amount":1,'
    b'"fraud_pattern":null}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":NaN,'
    b'"lat":Infinity,"lon":-Infinity}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":1,"amount":2}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":1} {"x":1}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":1e999}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5,}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":-0}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":Inf}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5}\r\r',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5}  ',
    b'{"transaction_id":"t\x01","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5}',
    b'{"transaction_id":"t\xff","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5,'
    b'"n":[[[[1]]]]}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5,'
    b'"a:b":null}',
    b'{"transaction_id":"t","timestamp":"2026-01-01T10:00:00Z","user_id":"u","amount":5,'
    b'"device_id":"raw","user_id":"raw","amount":3}',
    b"x" * (SMALL_MAX + 5),
    b'{"transaction_id": "' + b"y" * SMALL_MAX + b'"}',
]  # fmt: skip


# --- Hypothesis: short streams, shrunk to the first line that differs ------------------------

START = datetime(1999, 12, 31, tzinfo=UTC)


def stamp(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


STAMP_SECONDS = st.integers(86400, 36525 * 86400)  # 2000-01-01 to 2099-12-31
ISO_Z_LIKE = r"20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]Z"
stamps = st.one_of(
    st.integers(0, 36600 * 86400).map(stamp),
    st.from_regex(ISO_Z_LIKE, fullmatch=True),
    st.from_regex(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", fullmatch=True),  # any Unicode digits
    st.sampled_from(["2026-01-01 10:00:00", "2026-01-01T10:00:00", "2026-01-01T10:00:00.5Z",
                     "2026-W01-1T10:00:00Z", "2026-01-01T10:00:00+01:00", "2026-01-01T10:00:00z",
                     "2024-02-29T23:59:59Z", "2026-02-29T10:00:00Z", "2100-01-01T00:00:00Z", "",
                     "2026-01-01T10:00:00.000Z", "2026-01-01T10:00:00.1234567891Z",
                     "2026-01-01T10:00:00+01:60", "2026-01-01T10:00:00.Z",
                     "2000-01-01T00:30:00+01:00", "2099-12-31T23:30:00-01:00",
                     "2026-01-01T10:00:00,5", "1767261600", -0, 1e11, 1767261600000, 1767261600.5,
                     1767261600123.25, 946684799, 4102444800000, True]),
    st.integers(946684800, 4102444800),
    st.integers(946684800000, 4102444800000),
    st.floats(946684800, 4102444800).map(lambda x: round(x, 3)),
)  # fmt: skip
good_ids = st.from_regex(r"[A-Za-z0-9_.-]{1,8}", fullmatch=True)
ids = st.one_of(good_ids, st.sampled_from(["", "é", "a:b", "ü:", "null"]), st.integers(-3, 3))
amounts = st.one_of(
    st.floats(0, 1e7).map(lambda x: round(x, 2)),
    st.integers(-2, 10**7 + 1),
    st.sampled_from([0.0, -0.0, 1e7, 10000000.000000002, 1e7 + 0.5, -1e-300, 2**70, True, "5"]),
)
coordinates = st.one_of(
    st.floats(-200, 200).map(lambda x: round(x, 4)),
    st.sampled_from([40.0, -90.0, 90.0, 180.0, 0.0, -0.0, 40, 0, 1e-320, "1.5", None]),
)
extra_values = st.one_of(
    st.sampled_from(["card_testing", "x:y", "", None, None, True]),
    st.integers(-5, 5),
    st.floats(-10, 10).map(lambda x: round(x, 3)),
)
OPTIONAL = ("merchant_id", "merchant_category", "country", "device_id", "channel", "is_fraud")
OPTIONAL += ("location", "fraud_pattern", "score")
CLEAN = {
    "transaction_id": good_ids,
    "user_id": good_ids,
    "timestamp": st.integers(86400, 36525 * 86400).map(stamp),  # 2000-01-01 to 2099-12-31
    # (the stream's writer then writes it in its form: `written_stamp`)
    "amount": st.one_of(st.floats(0, 1e7).map(lambda x: round(x, 2)), st.integers(0, 10**7)),
    "merchant_category": st.sampled_from(["grocery", "travel", "é-shop", "a:b"]),
    "country": st.sampled_from(["US", "FR", "GB"]),
    "lat": st.integers(-899999, 899999).map(lambda x: x / 1e4 + 5e-5),
    "lon": st.integers(-1799999, 1799999).map(lambda x: x / 1e4 + 5e-5),
    "is_fraud": st.sampled_from([0, 1]),
    "fraud_pattern": st.sampled_from(["card_testing", None, None]),
    "score": st.one_of(st.floats(-5, 5).map(lambda x: round(x, 3)), st.sampled_from([2.0, -0.0])),
}


def written_stamp(seconds: float, form: str, draw) -> str | int | float:
    """A moment as one writer writes it: `form` is the stream's."""
    moment = START + timedelta(seconds=seconds)
    if form.startswith("epoch"):
        epoch = moment.timestamp()
        return {"epoch_s": int(epoch), "epoch_ms": int(epoch) * 1000 + draw(st.integers(0, 999)),
                "epoch_float": epoch + draw(st.integers(0, 999)) / 1000}[form]  # fmt: skip
    text = moment.strftime("%Y-%m-%d" + ("T" if form != "space" else " ") + "%H:%M:%S")
    if form in ("fraction", "offset"):
        digits = draw(st.integers(0, 9))
        text += "." + "".join(draw(st.sampled_from("0123456789")) for _ in range(digits))
    if form == "offset":
        hours, minutes = draw(st.integers(0, 23)), draw(st.integers(0, 59))
        text += f"{draw(st.sampled_from('+-'))}{hours:02d}:{minutes:02d}"
    return text + ("Z" if form in ("Z", "fraction") else "")


FORMS = ["Z", "Z", "fraction", "offset", "space", "epoch_s", "epoch_ms", "epoch_float"]
MESSY = {"transaction_id": ids, "user_id": ids, "timestamp": stamps, "amount": amounts}
MESSY |= {"lat": coordinates, "lon": coordinates, "fraud_pattern": extra_values}
MESSY |= {"country": st.sampled_from(["us", "U", "USA", "", "É1", None, 7])}
MESSY |= {"is_fraud": st.sampled_from([2, -1, 1.0, True, "1", None])}


@st.composite
def records(draw, layout: dict) -> dict:
    """A clean record of the stream's layout; some have a field or more changed."""
    keys = ["transaction_id", "timestamp", "user_id", "amount"]
    absent = []
    for key in layout["keys"]:
        fields = ["lat", "lon"] if key == "location" else [key]
        rare = key == "fraud_pattern" and layout["rare"]  # on few lines, as the simulator's
        if draw(st.integers(0, 9)) and not (rare and draw(st.integers(0, 9))):
            keys += fields  # (now and then a row leaves a key out)
        else:
            absent += fields
    record = {key: draw(CLEAN.get(key, good_ids)) for key in keys}
    record["timestamp"] = written_stamp(draw(STAMP_SECONDS), layout["form"], draw)
    if layout["explicit_nulls"]:  # as pandas writes a missing value
        record |= dict.fromkeys(absent)
    while draw(st.floats(0, 1)) < layout["messy"]:
        key = draw(st.sampled_from(keys + ["z", "note"]))
        record[key] = draw(MESSY.get(key, extra_values))
    if layout["omit_nulls"]:
        record = {key: value for key, value in record.items() if value is not None}
    order = draw(st.permutations(list(record))) if layout["shuffle"] else list(record)
    return {key: record[key] for key in order}


@st.composite
def streams(draw) -> tuple[bytes, ColumnMap, list[int], int]:
    columns = ColumnMap()
    layout = {
        "keys": draw(st.lists(st.sampled_from(OPTIONAL), unique=True)),
        "omit_nulls": draw(st.booleans()),
        "separators": draw(st.sampled_from([(",", ":"), (", ", ": ")])),
        "shuffle": draw(st.integers(0, 3)) == 0,
        "messy": draw(st.sampled_from([0.05, 0.3, 0.8])),
        "form": draw(st.sampled_from(FORMS)),
        "explicit_nulls": draw(st.booleans()),
        "rare": draw(st.booleans()),
    }
    lines = []
    for _ in range(draw(st.integers(1, 40))):
        if draw(st.integers(0, 7)) == 0:
            lines.append(draw(st.sampled_from(MESSES)))
            continue
        record = draw(records(layout))
        line = json.dumps(record, separators=layout["separators"], ensure_ascii=False)
        lines.append(line.encode() + draw(st.sampled_from([b"", b"", b"", b"\r"])))
    body = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))
    sizes = draw(st.lists(st.integers(1, 2000), max_size=3))
    return body, columns, sizes, draw(st.sampled_from([1 << 20, 1 << 20, 300, 3000]))


@settings(
    max_examples=int(__import__("os").environ.get("HX", 40)),
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(streams())
def test_random_streams_give_what_the_per_record_path_gives(stream):
    data, columns, sizes, block_bytes = stream
    with ExitStack() as stack:
        for module in (lines, jc):
            stack.enter_context(mock.patch.object(module, "MAX_LINE_BYTES", SMALL_MAX))
        stack.enter_context(mock.patch.object(ja, "_MIN_HALF", 2))  # halve refused runs far
        assert_same(data, columns, sizes, block_bytes)


# --- long seeded streams: thousands of lines a second, every layout ---------------------------

MESSY_VALUES = {
    "transaction_id": ["", 7, "é", "a:b", None, 1.5, "a\\u003ab"],
    "timestamp": ["2026-02-29T10:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:59:60Z", "",
                  "2026-01-01 10:00:00", "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z",
                  "2024-02-29T12:00:00Z", "2026-04-31T00:00:00Z", 1767261600, "2026-W01-1T1Z"],
    "amount": [0, -0.0, -0, 1e7, 10000000.000000002, -1, 1e8, "5", True, None, 2**70],
    "country": ["us", "USA", "", "É1", 7, None, "Us"],
    "lat": [40.0, 40, 0.0, -0.0, 91.5, "1.5", None], "lon": [-74.0, 181.5, 0, None],
    "is_fraud": [1.0, True, 2, -1, "1", None],
    "fraud_pattern": [None, 3, 2.5, 2.0, True, "x:y", ""], "note": [None, 3, 2.5, 4.0, "n"],
    "merchant_id": ["", "a:b", 5, None],
}  # fmt: skip


def seeded_stream(seed: int, n: int) -> tuple[bytes, ColumnMap]:
    """`n` lines of one random layout: clean records, some with a field changed, some messes."""
    rng = random.Random(seed)
    columns = ColumnMap()
    layout = [k for k in (*OPTIONAL, "note") if rng.random() < 0.6]
    nulls, messy = rng.choice(["omit", "write", "either"]), rng.choice([0.02, 0.2, 0.6])
    notes = rng.choice([["a", None], list(range(-9, 10)), [-2.5, 0.75, 3, 4, None]])
    clean = {
        "transaction_id": lambda: f"t{rng.randrange(10**6)}",
        "user_id": lambda: f"u{rng.randrange(10**4)}",
        "timestamp": lambda: stamp(rng.randrange(86400, 36525 * 86400)),
        "amount": lambda: rng.choice([round(rng.uniform(0, 1e7), 2), rng.randrange(10**7)]),
        "country": lambda: rng.choice(["US", "FR"]),
        "is_fraud": lambda: rng.choice([0, 1]),
        "lat": lambda: rng.randrange(-899999, 899999) / 1e4 + 5e-5,
        "lon": lambda: rng.randrange(-1799999, 1799999) / 1e4 + 5e-5,
        "fraud_pattern": lambda: rng.choice(["card_testing", None, None]),
        "note": lambda: rng.choice(notes),
    }
    lines = []
    for _ in range(n):
        if rng.random() < 0.05:
            lines.append(rng.choice(MESSES))
            continue
        fields = ["transaction_id", "timestamp", "user_id", "amount"]
        for key in layout:
            if rng.random() < 0.9:  # now and then a row leaves a key out
                fields += ["lat", "lon"] if key == "location" else [key]
        record = {f: clean[f]() if f in clean else f"{f[0]}{rng.randrange(99)}" for f in fields}
        while rng.random() < messy:
            field = rng.choice([*fields, "z"])
            record[field] = rng.choice(MESSY_VALUES.get(field, [None, "", 5]))
        if nulls == "omit" or (nulls == "either" and rng.random() < 0.5):
            record = {key: value for key, value in record.items() if value is not None}
        line = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        lines.append(line.replace(b"\\\\u003a", b"\\u003a"))  # an escaped colon, as written
    return b"\n".join(lines) + b"\n", columns


@pytest.mark.parametrize("seed", range(10))
def test_seeded_streams_give_what_the_per_record_path_gives(seed):
    data, columns = seeded_stream(seed, 1500)
    expected = reference(data, columns)
    assert_same(data, columns, expected=expected)
    assert_same(data, columns, [5000, 70_000], block_bytes=20_000, expected=expected)


# --- named cases -----------------------------------------------------------------------------


def lines_read_one_by_one(monkeypatch) -> list[int]:
    """Line numbers the record path's parser is asked for, from now on."""
    asked: list[int] = []

    def parse(raw, line_no, columns):
        asked.append(line_no)
        return fio.parse_jsonl_line(raw, line_no, columns)

    monkeypatch.setattr(jc, "parse_jsonl_line", parse)
    return asked


def unicode_key_line(i: int) -> bytes:
    """A key outside the schema written as UTF-8 (no escape), null or not, or left out."""
    record = json.loads(record_line(transaction_id=f"t{i}")) | {"nöte": [None, "x", 0][i % 3]}
    if i % 4 == 0:
        del record["nöte"]
    return json.dumps(record, ensure_ascii=False).encode()


def test_shipped_sample_is_read_by_arrow_with_its_key_on_few_lines(monkeypatch):
    """`fraud_pattern` is on the fraud lines only: they list it as their own extra, and no
    line goes through the one-line parser."""
    data = sample_path("txns.jsonl").read_bytes()
    assert_same(data)
    asked = lines_read_one_by_one(monkeypatch)
    blocks = list(jsonl_blocks(io.BytesIO(data), ColumnMap()))
    assert sum(len(block.lines) for block in blocks) == 10_000
    other_keys = [n for n, line in enumerate(data.splitlines(), 1) if b"fraud_pattern" in line]
    assert asked == [] and 0 < len(other_keys) < 100
    listed = [block.lines[i] for block in blocks for i in block.extras]
    assert listed == other_keys


@pytest.mark.parametrize(
    "data",
    [
        record_line(transaction_id="a") + b"\r\n" + record_line(transaction_id="b"),
        b'{"a":"' + b"x" * (3 * lines.MAX_LINE_BYTES) + b'"}\n{"b": 1}\n\n   \n',
        record_line(timestamp=1767261600, user_id=7, amount="3", is_fraud=True) * 40,
        b"\n".join([record_line(transaction_id=f"t{i}") for i in range(300)] + [b"\n", b"{}}"]),
        b"\n".join(record_line(transaction_id=f"t{i}", note=[i % 2] * (i % 3)) for i in range(99)),
        b"\n".join(record_line(transaction_id=f"t{i}", z=[1, "a", None][i % 3]) for i in range(99)),
        b"\n".join(unicode_key_line(i) for i in range(30)),
    ],
    ids=[
        "crlf-no-final-newline",
        "oversized",
        "json-types",
        "rowless-refusal",
        "arrays",
        "extras",
        "unicode-key",
    ],
)
def test_named_streams(data):
    assert_same(data)
    assert_same(data, sizes=[7, 1000, 1 << 20], block_bytes=3000)


def test_deep_nesting_is_a_reject_and_never_reaches_arrow():
    lines = [record_line(transaction_id=f"t{i}") for i in range(40)]
    data = b"\n".join([*lines, b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"])
    got = columnar(io.BytesIO(data), ColumnMap())
    assert got[-1] == (41, Reject(41, "malformed JSON: nested too deeply", got[-1][1].raw))
    assert_same(data)


def test_a_lone_surrogate_escape_is_a_reject():
    data = record_line(merchant_id="\ud800") + b"\n" + record_line(merchant_id="\U0001f600")
    (_, first), (_, second) = columnar(io.BytesIO(data), ColumnMap())
    assert first.reason == "malformed JSON: a lone surrogate escape"
    assert second.merchant_id == "\U0001f600"
    assert_same(data)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(
                r"[12][0-9]{3}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]Z",
                fullmatch=True,
            ),  # fmt: skip
            st.text(alphabet="0129-T:Z /٣", min_size=19, max_size=21),
            st.none(),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_stamps_read_over_columns_as_one_by_one(stamps):
    """Equal to `iso_z_seconds` on ASCII; stricter on other digits, which `iso_z_seconds`
    reads in the time of day: such lines go to the record path."""
    from fraudcli.records.timestamps import iso_z_seconds

    stamps = [*stamps, "2026-03-02T0\u0663:00:08Z"]  # an Arabic-Indic 3

    def want(stamp):
        return None if stamp is None or not stamp.isascii() else iso_z_seconds(stamp)

    assert iso_z_seconds(stamps[-1]) == iso_z_seconds("2026-03-02T03:00:08Z")
    got = canonical_seconds(pa.array(stamps, pa.string())).tolist()
    assert [None if g != g else g for g in got] == [want(s) for s in stamps]
    same_length = [s for s in stamps if s is not None and len(s.encode()) == 20]
    got = canonical_seconds(pa.array(same_length, pa.string())).tolist()  # no gaps: a matrix
    assert [None if g != g else g for g in got] == [want(s) for s in same_length]


# --- the files other tools write: every line on the column path -------------------------------


def writer_lines(world, form, nulls: bool, extra=None) -> bytes:
    """The small world's later records as a writer writes them: timestamps in `form`, nulls
    written or left out, `extra(i, record)` changing a record."""
    lines = []
    for i, line in enumerate((world / "later.jsonl").read_text().splitlines()[:600]):
        record = json.loads(line)
        ms = round(datetime.fromisoformat(record["timestamp"]).timestamp() * 1000) + i % 1000
        record["timestamp"] = form(ms)
        if nulls:
            record = {k: record.get(k) for k in (*OPTIONAL_FIELDS, *record)}
        if extra is not None:
            extra(i, record)
        lines.append(json.dumps(record, separators=(",", ":")).encode())
    return b"\n".join(lines) + b"\n"


OPTIONAL_FIELDS = ("transaction_id", "timestamp", "user_id", "amount", "merchant_id",
                   "merchant_category", "country", "lat", "lon", "device_id", "channel",
                   "is_fraud", "fraud_pattern")  # fmt: skip


def iso(ms: int, sep="T", digits=3, zone="Z", hours=0) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC) + timedelta(hours=hours)
    fraction = f"{moment.microsecond:06d}{ms % 7}00"[:digits]
    return moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + (f".{fraction}" if digits else "") + zone


SHAPES = {
    "pandas": (lambda ms: iso(ms), True, None),
    "spark": (lambda ms: iso(ms, zone="+01:00", hours=1), False, None),
    "isoformat": (lambda ms: iso(ms, digits=0, zone="+00:00"), False, None),
    "nanoseconds": (lambda ms: iso(ms, digits=9), False, None),
    "naive-space": (lambda ms: iso(ms, sep=" ", digits=0, zone=""), True, None),
    "kafka-connect": (lambda ms: ms, True, None),
    "epoch-seconds": (lambda ms: ms / 1000, False, None),
    "float-key": (lambda ms: iso(ms, digits=0), False,
                  lambda i, r: r.update(score=[0.25, 2.0, -0.0, None, 1e-7, 3.5e20][i % 6])),
    "keys-in-two-orders": (lambda ms: iso(ms, digits=0), False,
                           lambda i, r: r.update({"a": i, "b": "x"} if i % 5 else {"b": "y"})),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_writers_shapes_are_read_over_columns(world, shape, monkeypatch):
    form, nulls, extra = SHAPES[shape]
    data = writer_lines(world, form, nulls, extra)
    assert_same(data)
    assert_same(data, sizes=[5000, 70_000], block_bytes=20_000)
    asked = lines_read_one_by_one(monkeypatch)
    list(jsonl_blocks(io.BytesIO(data), ColumnMap()))
    assert asked == []


def test_an_int_in_a_float_column_is_read_by_the_record_path(monkeypatch):
    """Arrow's float hides `2` (an int, written back as 2) from `2.0`: that line alone goes
    line by line; `2.0`, `-0.0` and `1e5` stay on the column path."""
    values = [0.5, 2.0, 2, -0.0, 1e5, 7.25, -3]
    lines = [record_line(transaction_id=f"t{i}", score=v) for i, v in enumerate(values)]
    data = b"\n".join(lines) + b"\n"
    assert_same(data)
    asked = lines_read_one_by_one(monkeypatch)
    list(jsonl_blocks(io.BytesIO(data), ColumnMap()))
    assert asked == [3, 7]
