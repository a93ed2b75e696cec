"""Timestamp text read as columns, exactly as `datetime.fromisoformat(...).timestamp()` reads
it (naive = UTC), for the forms 'YYYY-MM-DD[T or space]HH:MM:SS[.fff][Z]': each string's bytes
as a row of a matrix, digits and marks checked at once, the date by H. Hinnant's days-from-civil.
Other text (offsets, microseconds, anything else) is NaN here, for the one-record checks.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.records._arrow import filled, is_string
from fraudcli.records.field_checks import RecordError, parse_number

_SEPARATORS = np.frombuffer(b"T ", np.uint8)
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_MARK_AT = np.array([4, 7, 13, 16])
_MARKS = np.frombuffer(b"--::", np.uint8)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_FORMS = {19: (0, False), 20: (0, True), 23: (3, False), 24: (3, True)}  # length: (ms, Z)


def canonical_seconds(stamps: pa.Array) -> np.ndarray:
    """Epoch seconds of canonical 'YYYY-MM-DDTHH:MM:SSZ' stamps (as `iso_z_seconds`
    reads them) within [MIN_TS, MAX_TS); NaN for null, any other text, or out of range."""
    ts, canonical = iso_seconds(stamps, forms=(20,))
    with np.errstate(invalid="ignore"):
        return np.where(canonical & (ts >= MIN_TS) & (ts < MAX_TS), ts, np.nan)


def iso_seconds(stamps: pa.Array, forms=tuple(_FORMS)) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of the stamps in one of the forms (by length; NaN elsewhere), and where a
    stamp is the canonical 'YYYY-MM-DDTHH:MM:SSZ'."""
    n = len(stamps)
    ts = np.full(n, np.nan)
    canonical = np.zeros(n, dtype=bool)
    lengths = pc.fill_null(pc.binary_length(stamps), 0).to_numpy(zero_copy_only=False)
    for length in forms:
        rows = np.flatnonzero(lengths == length)
        if len(rows):
            ts[rows], canonical[rows] = _seconds(_chars(stamps, rows, length), *_FORMS[length])
    return ts, canonical


def _chars(stamps: pa.Array, rows: np.ndarray, length: int) -> np.ndarray:
    picked = stamps if len(rows) == len(stamps) else stamps.take(pa.array(rows))
    offsets = np.frombuffer(picked.buffers()[1], np.int32, len(rows) + 1, picked.offset * 4)
    text = np.frombuffer(picked.buffers()[2], np.uint8)
    if offsets[-1] - offsets[0] == length * len(rows):  # all of this length: a matrix as is
        return text[offsets[0] : offsets[-1]].reshape(len(rows), length)
    return text[offsets[:-1, None] + np.arange(length)]


def _seconds(chars: np.ndarray, frac: int, zulu: bool) -> tuple[np.ndarray, np.ndarray]:
    """Seconds of 'YYYY-MM-DD?HH:MM:SS' (+ '.' and `frac` digits, + 'Z' if `zulu`) stamps as
    `datetime.fromisoformat(...).timestamp()` gives them (NaN where not such a real moment),
    and where they are the canonical form."""
    d = chars[:, _DIGITS] - np.uint8(48)  # a byte below '0' wraps round to above 9
    good = np.all(d <= 9, axis=1) & np.all(chars[:, _MARK_AT] == _MARKS, axis=1)
    good &= np.isin(chars[:, 10], _SEPARATORS)
    if zulu:
        good &= chars[:, -1] == ord("Z")
    micros = np.zeros(len(chars), dtype=np.int64)
    if frac:
        f = chars[:, 20 : 20 + frac] - np.uint8(48)
        good &= (chars[:, 19] == ord(".")) & np.all(f <= 9, axis=1)
        micros = (f.astype(np.int64) * np.array([100_000, 10_000, 1_000])).sum(axis=1)
    d = d.astype(np.int64)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month, day = d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
    hour = d[:, 8] * 10 + d[:, 9]
    seconds = hour * 3600 + (d[:, 10] * 10 + d[:, 11]) * 60 + d[:, 12] * 10 + d[:, 13]
    good &= (hour <= 23) & (d[:, 10] <= 5) & (d[:, 12] <= 5)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    good &= (month >= 1) & (month <= 12) & (day >= 1)
    good &= day <= _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    total = (_days_from_civil(year, month, day) * 86400 + seconds) * 1_000_000 + micros
    ts = np.where(good, total / 1e6, np.nan)  # both sides divide exact integers, rounded once
    iso_z = good & (chars[:, 10] == ord("T")) & zulu & (frac == 0)
    return ts, iso_z


def _days_from_civil(year, month, day):
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    year = year.astype(np.int64) - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


MIN_TS = datetime(2000, 1, 1, tzinfo=UTC).timestamp()


MAX_TS = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


MS_CUTOFF = 1e11  # epoch numbers above this are milliseconds (1e11 s is the year 5138)


def parse_timestamp(value: object, lenient: bool = False) -> float:
    """ISO-8601 (with or without zone; no zone means UTC) or epoch seconds/milliseconds."""
    if value is None or value == "":
        raise RecordError("missing required field 'timestamp'")
    if isinstance(value, datetime):
        ts = _aware(value).timestamp()
    elif isinstance(value, str) and not (lenient and _looks_numeric(value)):
        try:
            ts = _aware(datetime.fromisoformat(value)).timestamp()
        except ValueError:
            raise RecordError(f"'timestamp' is not ISO-8601 or epoch: {value[:40]!r}") from None
    else:
        ts = parse_number(value, "timestamp", lenient)
        if math.isnan(ts) or math.isinf(ts):
            raise RecordError("'timestamp' must be finite")
        if abs(ts) > MS_CUTOFF:
            ts /= 1000.0
    if not MIN_TS <= ts < MAX_TS:
        raise RecordError("'timestamp' is out of range (years 2000 to 2099)")
    return ts


def _looks_numeric(text: str) -> bool:
    return text.replace(".", "", 1).lstrip("-").isdigit()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso_z_seconds(stamp: str) -> float | None:
    """'YYYY-MM-DDTHH:MM:SSZ' -> epoch seconds with a per-day cache; None for any other form."""
    if len(stamp) != 20 or stamp[10] != "T" or stamp[13] != ":" or stamp[16] != ":":
        return None
    if stamp[19] != "Z" or not (stamp[11:13] + stamp[14:16] + stamp[17:19]).isdigit():
        return None
    day = _DAY_STARTS.get(stamp[:10])
    if day is None:
        try:
            day = datetime.fromisoformat(stamp[:10]).replace(tzinfo=UTC).timestamp()
        except ValueError:
            return None
        if not MIN_TS <= day < MAX_TS or len(_DAY_STARTS) > 100_000:
            return None
        _DAY_STARTS[stamp[:10]] = day
    hours, minutes, seconds = int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19])
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return day + hours * 3600 + minutes * 60 + seconds


_DAY_STARTS: dict[str, float] = {}


def format_timestamp(ts: float) -> str:
    """Epoch seconds -> ISO-8601 UTC with a Z, to the millisecond when needed."""
    millis = round(ts * 1000)
    day, ms_of_day = divmod(millis, 86_400_000)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
    seconds, ms = divmod(ms_of_day, 1000)
    minutes, sec = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    if ms:
        return f"{date}T{hour:02d}:{minute:02d}:{sec:02d}.{ms:03d}Z"
    return f"{date}T{hour:02d}:{minute:02d}:{sec:02d}Z"


_DATES: dict[int, str] = {}  # day number -> "YYYY-MM-DD"; a run spans few days


_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def timestamps(array: pa.Array) -> np.ndarray:
    """Epoch seconds of a timestamp column as `parse_timestamp` reads its values: a timestamp
    type by its unit, numbers as epoch seconds (milliseconds above 1e11), text in the canonical
    'YYYY-MM-DDTHH:MM:SSZ' form. NaN (0 for a timestamp type) where null; NaN for any other
    type or text form, which the one-record checks then read."""
    kind = array.type
    if pa.types.is_timestamp(kind):
        return filled(array.cast(pa.int64()), 0).astype(np.float64) / _UNITS[kind.unit]
    if len(array) and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        seconds = filled(array.cast(pa.float64(), safe=False), np.nan)
        return np.where(np.abs(seconds) > MS_CUTOFF, seconds / 1000.0, seconds)
    if len(array) and is_string(array):
        return canonical_seconds(array.cast(pa.string()))
    return np.full(len(array), np.nan)


def format_timestamps(ts: np.ndarray) -> pa.Array:
    """`format_timestamp` over an array: the same text, row for row.

    Arrow formats whole seconds as "YYYY-MM-DD HH:MM:SS" (fixed width for the years
    `validate` accepts); the bytes are then rewritten in place to "YYYY-MM-DDTHH:MM:SSZ".
    Rows with milliseconds (rare) are formatted one by one."""

    millis = np.rint(ts * 1000.0).astype(np.int64)  # round half to even, as `round`
    seconds = np.floor_divide(millis, 1000)
    text = pa.array(seconds, pa.timestamp("s")).cast(pa.string())
    n = len(text)
    raw = np.frombuffer(text.buffers()[2], dtype=np.uint8)[: 19 * n] if n else np.empty(0)
    if text.buffers()[1] is None or len(raw) != 19 * n or (n and text.offset):
        return pa.array([format_timestamp(t) for t in ts.tolist()], pa.string())
    out = np.empty((n, 20), dtype=np.uint8)
    out[:, :19] = raw.reshape(n, 19)
    out[:, 10], out[:, 19] = ord("T"), ord("Z")
    offsets = pa.py_buffer(np.arange(0, 20 * n + 1, 20, dtype=np.int32))
    stamps = pa.StringArray.from_buffers(n, offsets, pa.py_buffer(out))
    fraction = np.flatnonzero(millis != seconds * 1000)
    if len(fraction):
        texts = stamps.to_numpy(zero_copy_only=False).astype(object)
        texts[fraction] = [format_timestamp(t) for t in ts[fraction].tolist()]
        stamps = pa.array(texts, pa.string())
    return stamps
