"""Timestamps over columns: `timestamps` and `canonical_seconds` read a column as
`parse_timestamp` reads each value, `format_timestamps` writes `format_timestamp`'s text; and
ISO-8601 text read as columns, exactly as `datetime.fromisoformat(text).timestamp()` reads it
(naive = UTC), in the forms writers use:

    YYYY-MM-DD[T or space]HH:MM:SS[.f to .fffffffff][Z or +HH:MM or -HH:MM]

(pandas' `...29.000Z`, Spark's `...29.000+01:00`, `...29+00:00`, `...29`). Fractions past the
microsecond are cut, as `fromisoformat` cuts them. Each length of text is a matrix of bytes,
one row per stamp: digits and marks are checked at once, the date counted by H. Hinnant's
days-from-civil. Text in any other form (a lowercase 't', a comma, `+0100`, Unicode digits...)
is NaN here, for the one-record checks to read.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fraudcli.records._arrow import filled, is_string
from fraudcli.records.timestamps import MAX_TS, MIN_TS, MS_CUTOFF, format_timestamp

_SEPARATORS = np.frombuffer(b"T ", np.uint8)
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_MARK_AT = np.array([4, 7, 13, 16])
_MARKS = np.frombuffer(b"--::", np.uint8)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_HEAD = 19  # 'YYYY-MM-DDTHH:MM:SS'
_ZONE = 6  # '+HH:MM'
_MAX_FRACTION = 9
_LONGEST = _HEAD + 1 + _MAX_FRACTION + _ZONE
_SCALE = np.array([100_000, 10_000, 1_000, 100, 10, 1], dtype=np.int64)
_SIGNS = np.frombuffer(b"+-", np.uint8)


def iso_text_seconds(stamps: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of each stamp in one of the forms above (NaN for null or any other text),
    and where a stamp is the canonical 'YYYY-MM-DDTHH:MM:SSZ' (`Txn.ts_text`)."""
    n = len(stamps)
    ts = np.full(n, np.nan)
    canonical = np.zeros(n, dtype=bool)
    if not n:
        return ts, canonical
    stamps = stamps.cast(pa.string()) if stamps.type != pa.string() else stamps
    import pyarrow.compute as pc  # (columns only: not at start)

    lengths = pc.fill_null(pc.binary_length(stamps), 0).to_numpy(zero_copy_only=False)
    for length in np.flatnonzero(np.bincount(lengths)).tolist():
        if _HEAD <= length <= _LONGEST:
            rows = np.flatnonzero(lengths == length)
            ts[rows], canonical[rows] = _stamp_seconds(_chars(stamps, rows, length))
    return ts, canonical


def _chars(stamps: pa.Array, rows: np.ndarray, length: int) -> np.ndarray:
    """The bytes of the stamps at `rows` (all `length` long) as a rows x length matrix."""
    picked = stamps if len(rows) == len(stamps) else stamps.take(pa.array(rows))
    offsets = np.frombuffer(picked.buffers()[1], np.int32, len(rows) + 1, picked.offset * 4)
    text = np.frombuffer(picked.buffers()[2], np.uint8)
    if offsets[-1] - offsets[0] == length * len(rows):  # back to back: a matrix as it lies
        return text[offsets[0] : offsets[-1]].reshape(len(rows), length)
    return text[offsets[:-1, None] + np.arange(length)]


def _stamp_seconds(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    seconds, good = _local_seconds(chars[:, :_HEAD])
    micros, offset, zulu, tail_ok = _tail(chars[:, _HEAD:])
    good &= tail_ok
    total = (seconds - offset) * 1_000_000 + micros
    ts = np.where(good, total / 1e6, np.nan)  # both sides exact integers, rounded once
    canonical = good & zulu & (chars.shape[1] == _HEAD + 1) & (chars[:, 10] == ord("T"))
    return ts, canonical


def _local_seconds(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since 1970 of 'YYYY-MM-DD?HH:MM:SS' read as UTC, and where it is a real
    moment in that form (a real date in the years 1800-2200, hours to 23, minutes and seconds
    to 59)."""
    d = chars[:, _DIGITS] - np.uint8(48)  # a byte below '0' wraps round to above 9
    good = np.all(d <= 9, axis=1) & np.all(chars[:, _MARK_AT] == _MARKS, axis=1)
    good &= np.isin(chars[:, 10], _SEPARATORS)
    d = d.astype(np.int64)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month, day = d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]
    hour = d[:, 8] * 10 + d[:, 9]
    seconds = hour * 3600 + (d[:, 10] * 10 + d[:, 11]) * 60 + d[:, 12] * 10 + d[:, 13]
    good &= (hour <= 23) & (d[:, 10] <= 5) & (d[:, 12] <= 5)
    good &= (year >= 1800) & (year <= 2200)  # microseconds since 1970 stay below 2**53: exact
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    good &= (month >= 1) & (month <= 12) & (day >= 1)
    good &= day <= _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    return days_from_civil(year, month, day) * 86400 + seconds, good


def _tail(tail: np.ndarray):
    """What follows the seconds, all of one length: '' or '.' and 1-9 digits, then '' or 'Z'
    or '+HH:MM'. Microseconds, the zone's offset in seconds, where the zone is 'Z', and where
    the tail is in that form."""
    n, length = tail.shape
    micros, offset = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    zulu = np.zeros(n, dtype=bool) if not length else tail[:, -1] == ord("Z")
    zoned = np.zeros(n, dtype=bool)
    if length >= _ZONE:
        zoned = ~zulu & np.isin(tail[:, length - _ZONE], _SIGNS)
    for rows, zone in ((zulu, 1), (zoned, _ZONE), (~zulu & ~zoned, 0)):
        rows = np.flatnonzero(rows)
        fraction = length - zone
        if not len(rows) or fraction == 1 or fraction > 1 + _MAX_FRACTION:
            continue  # a '.' with no digit, or too many digits
        part = tail[rows]
        good = np.ones(len(rows), dtype=bool)
        if fraction:
            digits = part[:, 1:fraction] - np.uint8(48)
            good &= (part[:, 0] == ord(".")) & np.all(digits <= 9, axis=1)
            kept = digits[:, :6].astype(np.int64)
            micros[rows] = kept @ _SCALE[: kept.shape[1]]
        if zone == _ZONE:
            seconds, zone_ok = _offset(part[:, fraction:])
            offset[rows], good = seconds, good & zone_ok
        ok[rows] = good
    return micros, offset, zulu & ok, ok


def _offset(zone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """'+HH:MM' / '-HH:MM' (hours to 23, minutes to 59) in seconds east of UTC."""
    d = zone[:, [1, 2, 4, 5]] - np.uint8(48)
    good = np.all(d <= 9, axis=1) & (zone[:, 3] == ord(":"))
    d = d.astype(np.int64)
    hours, minutes = d[:, 0] * 10 + d[:, 1], d[:, 2] * 10 + d[:, 3]
    good &= (hours <= 23) & (minutes <= 59)
    sign = np.where(zone[:, 0] == ord("-"), -1, 1)
    return sign * (hours * 3600 + minutes * 60), good


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    year = year.astype(np.int64) - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


# --- columns of timestamps as `parse_timestamp` reads them, and back to text -----------------


def canonical_seconds(stamps: pa.Array) -> np.ndarray:
    """Epoch seconds of canonical 'YYYY-MM-DDTHH:MM:SSZ' stamps (as `iso_z_seconds`
    reads them) within [MIN_TS, MAX_TS); NaN for null, any other text, or out of range."""
    ts, canonical = iso_text_seconds(stamps)
    with np.errstate(invalid="ignore"):
        return np.where(canonical & (ts >= MIN_TS) & (ts < MAX_TS), ts, np.nan)


def iso_seconds(stamps: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds of ISO text in the forms of `iso_columns.iso_text_seconds` (NaN
    elsewhere), and where a stamp is the canonical 'YYYY-MM-DDTHH:MM:SSZ'."""
    return iso_text_seconds(stamps)


_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def timestamps(array: pa.Array) -> np.ndarray:
    """Epoch seconds of a timestamp column as `parse_timestamp` reads its values: a timestamp
    type by its unit, numbers as epoch seconds (milliseconds above 1e11), text in the ISO forms
    of `iso_columns.iso_text_seconds`. NaN (0 for a timestamp type) where null; NaN for any
    other type or text form, which the one-record checks then read."""
    kind = array.type
    if pa.types.is_timestamp(kind):
        return filled(array.cast(pa.int64()), 0).astype(np.float64) / _UNITS[kind.unit]
    if len(array) and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        seconds = filled(array.cast(pa.float64(), safe=False), np.nan)
        return np.where(np.abs(seconds) > MS_CUTOFF, seconds / 1000.0, seconds)
    if len(array) and is_string(array):
        return iso_text_seconds(array.cast(pa.string()))[0]
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
