"""Timestamps: one value as `validate` reads it (`parse_timestamp`: ISO-8601 text, with or
without a zone, or epoch seconds / milliseconds), the canonical 'YYYY-MM-DDTHH:MM:SSZ' text
fast (`iso_z_seconds`), back to text (`format_timestamp`), and whole columns of them
(`timestamps`, `canonical_seconds`; ISO text over columns is `fraudcli.records.iso_columns`).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from fraudcli.records._arrow import filled, is_string
from fraudcli.records.field_checks import RecordError, parse_number
from fraudcli.records.iso_columns import iso_text_seconds


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
