"""ISO timestamp text over columns reads every stamp it takes exactly as `validate` reads it
(`datetime.fromisoformat(...).timestamp()`, naive = UTC), and takes the forms writers use."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudcli.records.iso_columns import canonical_seconds, iso_text_seconds
from fraudcli.records.timestamps import iso_z_seconds

FIXED = settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
MOMENTS = st.datetimes(datetime(1999, 12, 30), datetime(2100, 1, 2))


@st.composite
def written(draw) -> str:
    """A stamp as some writer writes it: separator, 0-9 fraction digits, no zone, Z or an
    offset (pandas, Spark, Kafka Connect, isoformat...)."""
    moment = draw(MOMENTS)
    text = moment.strftime("%Y-%m-%d") + draw(st.sampled_from("T ")) + moment.strftime("%H:%M:%S")
    digits = draw(st.integers(0, 9))
    if digits:
        text += "." + draw(st.text("0123456789", min_size=digits, max_size=digits))
    zone = draw(st.sampled_from(["", "Z", "offset"]))
    if zone == "offset":
        hours, minutes = draw(st.integers(0, 23)), draw(st.integers(0, 59))
        zone = f"{draw(st.sampled_from('+-'))}{hours:02d}:{minutes:02d}"
    return text + zone


@st.composite
def mangled(draw) -> str:
    """A written stamp with a character changed, added or dropped."""
    text = draw(written())
    at = draw(st.integers(0, len(text)))
    char = draw(st.sampled_from(list("0159:-+.TZtz ,/٣é") + ["60", "24", "00"]))
    how = draw(st.sampled_from(["replace", "insert", "drop"]))
    if how == "replace":
        return text[:at] + char + text[at + 1 :]
    if how == "insert":
        return text[:at] + char + text[at:]
    return text[:at] + text[at + 1 :]


ODD = ["", "2026-01-30T23:55:29.Z", "2026-01-30T23:55:29+01:60", "2026-01-30T23:55:29 +00:00",
       "2026-01-30T23:55:29+0100", "2026-01-30t23:55:29Z", "2026-01-30T23:55:29,5Z",
       "2026-01-30T23:55:29.1234567890Z", "0000-01-01T00:00:00Z", "2024-02-29T12:00:00-23:59",
       "2023-02-29T12:00:00Z", "2026-01-30T23:55:29-00:00", "1767225600", "2026-01-30"]  # fmt: skip


def python_reads(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def check(stamps: list[str | None]) -> list[float | None]:
    ts, canonical = iso_text_seconds(pa.array(stamps, pa.string()))
    got = []
    for text, seconds, iso_z in zip(stamps, ts.tolist(), canonical.tolist(), strict=True):
        if seconds != seconds:
            assert not iso_z
            got.append(None)
            continue
        assert seconds == python_reads(text), text
        assert iso_z == (len(text) == 20 and text[10] == "T" and text[19] == "Z"), text
        got.append(seconds)
    return got


@FIXED
@given(st.lists(written(), max_size=30))
def test_written_stamps_are_read_as_python_reads_them(stamps):
    assert None not in check(stamps)  # every such form is taken


@FIXED
@given(st.lists(st.one_of(written(), mangled(), st.sampled_from(ODD), st.none()), max_size=30))
def test_any_text_is_read_as_python_reads_it_or_left_alone(stamps):
    check(stamps)


@FIXED
@given(st.lists(st.one_of(written(), mangled(), st.none()), min_size=1, max_size=30))
def test_canonical_seconds_are_iso_z_seconds_in_range(stamps):
    got = canonical_seconds(pa.array(stamps, pa.string())).tolist()
    want = [None if s is None or not s.isascii() else iso_z_seconds(s) for s in stamps]
    assert [None if g != g else g for g in got] == want


def test_the_forms_of_pandas_spark_and_isoformat():
    stamps = ["2026-01-30T23:55:29.000Z", "2026-01-31T00:55:29.000+01:00",
              "2026-01-30T23:55:29+00:00", "2026-01-30 23:55:29", "2026-01-30T23:55:29.123456789Z",
              "2026-01-30T18:55:29.5-05:00", "2026-01-30T23:55:29Z"]  # fmt: skip
    got = check(stamps)
    assert got[:3] == [got[-1]] * 3 == [1769817329.0] * 3
    assert got[4] == 1769817329.123456 and got[5] == 1769817329.5
