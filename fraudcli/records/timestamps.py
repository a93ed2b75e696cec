"""Timestamps: one value as `validate` reads it (`parse_timestamp`: ISO-8601 text, with or
without a zone, or epoch seconds / milliseconds), the canonical 'YYYY-MM-DDTHH:MM:SSZ' text
fast (`iso_z_seconds`), and back to text (`format_timestamp`). Plain Python; whole columns
of them (`timestamps`, `canonical_seconds`, `iso_seconds`, `format_timestamps`) are in
`fraudcli.records.iso_columns` (NumPy and Arrow: a command that reads one record at a time
need not load them).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from fraudcli.records.field_checks import RecordError, parse_number

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
