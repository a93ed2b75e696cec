"""The CSV column reader gives, block for block, exactly what the record path's CSV reader
gathered into blocks gives: the same records, values, extras and rejects."""

from __future__ import annotations

import csv
import io
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fraudcli.io.blocks as blocks
from fraudcli.io.csv_blocks import csv_blocks, stamp_seconds
from fraudcli.io.read import read_batches
from fraudcli.records.field_checks import RecordError
from fraudcli.records.schema import FIELDS, REQUIRED, ColumnMap
from fraudcli.records.timestamps import MAX_TS, MIN_TS, parse_timestamp

FIXED = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MOMENTS = st.datetimes(datetime(1999, 12, 31), datetime(2100, 1, 1, 1)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)
STAMP_FORMS = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.{ms}Z",
    "%Y-%m-%d %H:%M:%S.{ms}Z",
    "%Y-%m-%d %H:%M:%S.{ms}",
    "%Y-%m-%dT%H:%M:%S+00:00",
    "%Y-%m-%dT%H:%M:%S.%fZ",
)


def _stamp(moment: datetime, form: str) -> str:
    return moment.strftime(form.replace("{ms}", f"{moment.microsecond // 1000:03d}"))


ODD_STAMPS = [
    "",
    "x",
    "2026-02-30T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T10:60:00Z",
    "2024-02-29T12:00:00Z",
    "2023-02-29T12:00:00Z",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "2099-12-31T23:59:59.999Z",
    "2026-01-01t10:00:00Z",
    "2026-01-01T10:00:00z",
    " 2026-01-01T10:00:00Z",
    "2026-01-01T10:00:00.5Z",
    "2026-1-01T10:00:00Z",
    "1767225600",
    "1767225600.25",
    "1767225600000",
    "1767225600123.5",
    "-1767225600",
    "1767225600.",
    "946684799",
    "1e9",
    "١٧٦٧٢٢٥٦٠٠",
]
AMOUNTS = ["12.5", "0", "0.0", "007", "0.1000", "1e5", "+5", "1_0", "nan", "inf", "-3", " 4"]
AMOUNTS += ["10000000", "10000000.01", "", "abc", "1.", ".5", "9" * 25, "٣", "-0"]
COORDS = ["", "40.7128", "-73.9", "91", "-180", "180.0", "90.00001", "0", "-0", "1e1", "nan"]
COORDS += [" 5", "+5", "-", "12.5.1"]
COUNTRIES = ["", "US", "us", "Us", "USA", "U1", "ÄÖ", " US"]
LABELS = ["", "0", "1", "true", "False", "TRUE", "2", "yes", " 1", "1.0"]
TEXTS = ["", " ", "t1", "é", "a,b", 'q"uote', "two\nlines", "x" * 30]
ODD = {"timestamp": ODD_STAMPS, "amount": AMOUNTS, "lat": COORDS, "lon": COORDS}
ODD |= {"country": COUNTRIES, "is_fraud": LABELS}
EXTRA_NAMES = ["note", "fraud_pattern", " amount", "Amount"]


DIGITS = st.text("0123456789", min_size=1, max_size=9)
DECIMALS = st.builds(
    lambda whole, part: f"{whole}.{part}" if part else whole, DIGITS, DIGITS | st.just("")
)


@st.composite
def cell_values(draw, name: str) -> str:
    """A cell for column `name`: usually in the common clean form, sometimes odd."""
    if draw(st.integers(0, 14)) == 0:
        return draw(st.sampled_from(ODD.get(name, TEXTS)))
    if name == "timestamp":
        return _stamp(draw(MOMENTS), draw(st.sampled_from(STAMP_FORMS)))
    if name == "amount":
        return draw(DECIMALS)
    if name in ("lat", "lon"):
        value = draw(st.floats(-90, 90))
        return draw(st.sampled_from(["", f"{value:.{draw(st.integers(0, 8))}f}"]))
    if name == "country":
        return draw(st.sampled_from(["", "US", "gb", "De"]))
    if name == "is_fraud":
        return draw(st.sampled_from(["", "0", "1", "true", "False"]))
    return draw(st.text("abcxyz019", min_size=name in ("transaction_id", "user_id"), max_size=6))


@st.composite
def headers(draw) -> list[str]:
    names = [name for name in FIELDS if draw(st.integers(0, 29 if name in REQUIRED else 5)) > 0]
    names += draw(st.lists(st.sampled_from(EXTRA_NAMES), max_size=2))
    if draw(st.integers(0, 9)) == 0:
        names.append(draw(st.sampled_from(FIELDS)))  # a name twice
    return draw(st.permutations(names))


@st.composite
def csv_files(draw, rename: bool = False) -> bytes | tuple[bytes, ColumnMap]:
    """A CSV file mixing clean rows and odd ones (quoting, ragged rows, empty lines, bad UTF-8);
    with `rename`, its columns named otherwise and the mapping that reads them."""
    header = draw(headers())
    written, columns = draw(renamed(header)) if rename else (header, None)
    delimiter = draw(st.sampled_from([",", ",", ";"]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    lines = [_written(written, delimiter, end, quoting)]
    for _ in range(draw(st.integers(0, 30))):
        row = [draw(cell_values(name)) for name in header]
        kind = draw(st.integers(0, 19))
        if kind == 0:
            lines.append(end.encode())
        elif kind == 1:
            lines.append(b"\xff\xfebad" + delimiter.encode() + end.encode())
        elif kind == 2:
            cut = row[: draw(st.integers(0, len(row)))] + ["more"] * draw(st.integers(0, 2))
            lines.append(_written(cut, delimiter, end, quoting))
        elif kind == 3:
            lines.append((delimiter * max(len(row) - 1, 0) + end).encode())
        else:
            lines.append(_written(row, delimiter, end, quoting))
    bom = b"\xef\xbb\xbf" if draw(st.integers(0, 9)) == 0 else b""
    body = bom + b"".join(lines)
    body = body[:-1] if draw(st.booleans()) and body.endswith(b"\n") else body
    return (body, columns) if rename else body


def _written(row: list[str], delimiter: str, end: str, quoting: int) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=end, quoting=quoting).writerow(row)
    return out.getvalue().encode()


def _expected(path: Path, columns: ColumnMap, block_rows: int, batch_rows: int) -> list:
    with mock.patch.object(blocks, "BLOCK_ROWS", block_rows):
        return list(blocks.item_blocks(read_batches(path, columns, batch_rows)))


def rows_extras(block) -> list[dict | None]:
    """Each row's extras: its own where listed, else its values of the passthrough columns."""
    carried = {name: column.to_pylist() for name, column in block.passthrough.items()}
    return [
        block.extras[i]
        if i in block.extras
        else ({name: values[i] for name, values in carried.items()} if carried else None)
        for i in range(len(block.lines))
    ]


def assert_same_blocks(got: list, want: list) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.n_read == w.n_read
        assert g.lines.dtype == w.lines.dtype
        assert g.lines.tolist() == w.lines.tolist()
        assert g.rejects == w.rejects
        assert rows_extras(g) == rows_extras(w)
        assert list(g.data) == list(w.data)
        for name, column in w.data.items():
            assert g.data[name].type == column.type, name
            assert g.data[name].equals(column), name
            assert [repr(v) for v in g.data[name].to_pylist()] == [
                repr(v) for v in column.to_pylist()
            ], name  # -0.0 and 0.0 apart


def _check(body: bytes, block_rows: int, batch_rows: int, columns: ColumnMap | None = None):
    columns = columns or ColumnMap()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.csv"
        path.write_bytes(body)
        want = _expected(path, columns, block_rows, batch_rows)
        got = list(csv_blocks(path, columns, block_rows, batch_rows))
    assert_same_blocks(got, want)


@FIXED
@given(csv_files(), st.sampled_from([1, 2, 5, 64]), st.sampled_from([1, 3, 8192]))
def test_csv_blocks_equal_the_record_path(body: bytes, block_rows: int, batch_rows: int) -> None:
    _check(body, block_rows, batch_rows)


@FIXED
@given(st.from_regex(r"-?[0-9]{1,20}(\.[0-9]{1,20})?", fullmatch=True))
def test_arrow_reads_decimal_text_as_python_float(text: str) -> None:
    got = pa.array([text]).cast(pa.float64()).to_pylist()[0]
    assert repr(got) == repr(float(text))


@FIXED
@given(
    st.lists(
        st.one_of(
            MOMENTS.map(str),
            st.builds(_stamp, MOMENTS, st.sampled_from(STAMP_FORMS)),
            st.sampled_from(ODD_STAMPS),
        ),
        max_size=20,
    )
)
def test_stamp_seconds_agree_with_parse_timestamp(stamps: list[str]) -> None:
    ts, canonical = stamp_seconds(pa.array(stamps, pa.string()))
    for text, seconds, iso_z in zip(stamps, ts.tolist(), canonical.tolist(), strict=True):
        if np.isnan(seconds):
            continue  # another form: left to the record path
        try:
            expected = parse_timestamp(text, lenient=True)
        except RecordError:  # out of range: the kernels' caller checks the range
            assert not MIN_TS <= seconds < MAX_TS, text
            continue
        assert seconds == expected, text
        assert iso_z == (len(text) == 20 and text[10] == "T" and text.endswith("Z")), text


def _messy_file(seed: int, rows: int) -> bytes:
    """A large file of mostly clean rows with every sort of odd one mixed in."""
    rng = random.Random(seed)
    header = list(FIELDS) + ["fraud_pattern"]
    rng.shuffle(header)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    lines = [_written(header, ",", "\n", csv.QUOTE_MINIMAL)]
    for i in range(rows):
        moment = start + timedelta(seconds=rng.randrange(10**7), milliseconds=rng.randrange(1000))
        clean = {
            "transaction_id": f"tx-{i}",
            "timestamp": _stamp(moment, rng.choice(STAMP_FORMS[:7])),
            "user_id": f"u{rng.randrange(500)}",
            "amount": f"{rng.uniform(0, 500):.{rng.randrange(3)}f}",
            "merchant_id": rng.choice(["m1", "m2", ""]),
            "merchant_category": rng.choice(["grocery", "", "travel"]),
            "country": rng.choice(["US", "DE", "gb", ""]),
            "lat": f"{rng.uniform(-90, 90):.4f}",
            "lon": f"{rng.uniform(-180, 180):.4f}",
            "device_id": rng.choice(["", "d1"]),
            "channel": rng.choice(["pos", "web", ""]),
            "is_fraud": rng.choice(["0", "1", "", "true"]),
            "fraud_pattern": rng.choice(["", "burst"]),
        }
        if rng.random() < 0.2:
            name = rng.choice(header)
            clean[name] = rng.choice(
                {"timestamp": ODD_STAMPS, "amount": AMOUNTS, "lat": COORDS, "lon": COORDS}.get(
                    name, TEXTS + COUNTRIES + LABELS
                )
            )
        row = [clean[name] for name in header]
        if rng.random() < 0.02:
            row = row[: rng.randrange(len(row))]
        lines.append(b"\n" if rng.random() < 0.01 else _written(row, ",", "\n", 0))
    return b"".join(lines)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_messy_files_equal_the_record_path(seed: int) -> None:
    body = _messy_file(seed, 3000)
    _check(body, 1000, 512)
    _check(body, 1 << 19, 8192)


def test_mapped_columns_equal_the_record_path() -> None:
    body = _messy_file(4, 500).replace(b"user_id", b"CUSTOMER", 1)
    _check(body, 100, 64, ColumnMap.from_dict({"user_id": "CUSTOMER"}))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xef\xbb\xbf",
        b"\n",
        b"transaction_id,timestamp,user_id,amount\n",
        b"transaction_id,timestamp,user_id\nt1,2026-01-01T00:00:00Z,u1\n",
        b"transaction_id,timestamp,user_id,amount,amount\nt,2026-01-01T00:00:00Z,u,x,5\n",
        b'transaction_id,timestamp,user_id,amount\n"t\n1",2026-01-01T00:00:00Z,u,5\n\n,,,\n',
        b"\xff\n1,2\n",
    ],
)
def test_edge_files_equal_the_record_path(body: bytes) -> None:
    _check(body, 2, 1)


@st.composite
def renamed(draw, header: list[str]) -> tuple[list[str], ColumnMap]:
    """`header` with some fields named otherwise, and a mapping that reads them: some mapped
    names missing, a field there under both names, a field mapped to another's name."""
    names = ["CUSTOMER", "TX AMOUNT", "Ts", "note"]
    own = {name: draw(st.sampled_from([*names, name])) for name in header if name in FIELDS}
    written = [own.get(name, name) for name in header]
    mapping = {field: name for field, name in own.items() if name != field and draw(st.booleans())}
    if draw(st.integers(0, 4)) == 0:
        mapping[draw(st.sampled_from(FIELDS))] = draw(st.sampled_from(["absent", *written]))
    return written, ColumnMap.from_dict(mapping)


@FIXED
@given(csv_files(rename=True), st.sampled_from([1, 64]), st.sampled_from([3, 8192]))
def test_mapped_csv_blocks_equal_the_record_path(file, block_rows: int, batch_rows: int) -> None:
    body, columns = file
    _check(body, block_rows, batch_rows, columns)


def test_a_clean_file_with_its_own_names_is_read_over_columns(monkeypatch) -> None:
    """Every cell quoted, columns named otherwise and a --map: no row goes through `validate`."""
    import fraudcli.io.csv_blocks as cb

    names = ["TX_ID", "TX_DATETIME", "CUSTOMER_ID", "TX_AMOUNT", "country", "lat", "lon", "note"]
    rng = random.Random(6)
    rows = [[f"t{i}", f"2026-03-01 10:{i // 60 % 60:02d}:{i % 60:02d}", f"u{i % 7}",
             f"{rng.uniform(0, 300):.2f}", "FR", f"{rng.uniform(-90, 90):.4f}",
             f"{rng.uniform(-180, 180):.4f}", rng.choice(["", "vip"])]
            for i in range(300)]  # fmt: skip
    body = b"".join(_written(row, ",", "\n", csv.QUOTE_ALL) for row in [names, *rows])
    columns = ColumnMap.from_dict(
        {
            "transaction_id": "TX_ID",
            "timestamp": "TX_DATETIME",
            "user_id": "CUSTOMER_ID",
            "amount": "TX_AMOUNT",
        }  # fmt: skip
    )
    _check(body, 100, 64, columns)
    alone: list = []
    monkeypatch.setattr(cb, "validated", lambda *args, **kw: alone.append(args))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clean.csv"
        path.write_bytes(body)
        blocks = list(csv_blocks(path, columns, 100, 64))
    assert alone == [] and sum(len(block.lines) for block in blocks) == 300
    assert list(blocks[0].passthrough) == ["note"]
