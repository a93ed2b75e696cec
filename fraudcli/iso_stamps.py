"""Timestamp text read as columns, exactly as `datetime.fromisoformat(...).timestamp()` reads
it (naive = UTC), for the forms 'YYYY-MM-DD[T or space]HH:MM:SS[.fff][Z]': each string's bytes
as a row of a matrix, digits and marks checked at once, the date by H. Hinnant's days-from-civil.
Other text (offsets, microseconds, anything else) is NaN here, for the one-record checks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.field_values import MAX_TS, MIN_TS

_SEPARATORS = np.frombuffer(b"T ", np.uint8)
_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_MARK_AT = np.array([4, 7, 13, 16])
_MARKS = np.frombuffer(b"--::", np.uint8)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_FORMS = {19: (0, False), 20: (0, True), 23: (3, False), 24: (3, True)}  # length: (ms, Z)


def canonical_seconds(stamps: pa.Array) -> np.ndarray:
    """Epoch seconds of canonical 'YYYY-MM-DDTHH:MM:SSZ' stamps (as `field_values._iso_z_seconds`
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
