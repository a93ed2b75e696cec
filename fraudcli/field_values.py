"""One input field's value: parsed and checked, or a RecordError saying why not.

The per-field rules of `fraudcli.schema.validate`: identifiers and optional strings, amounts and
coordinates, the country code and the fraud label, and timestamps (ISO-8601 or epoch seconds or
milliseconds in; epoch seconds out, and back to ISO-8601 text with `format_timestamp`). Plain
Python over one value: it runs once per input field.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

MAX_AMOUNT = 10_000_000.0  # above this an amount is a data error, not a purchase
MIN_TS = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
MAX_TS = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
MS_CUTOFF = 1e11  # epoch numbers above this are milliseconds (1e11 s is the year 5138)


class RecordError(ValueError):
    """A record fails validation; the message is the reject reason in plain words."""


def _identifier(obj: dict, field: str) -> str:
    value = obj.get(field)
    if value is None or value == "":
        raise RecordError(f"missing required field '{field}'")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"'{field}' must be a string, got {type(value).__name__}")


def _number(value: object, field: str, lenient: bool) -> float:
    if isinstance(value, bool):
        raise RecordError(f"'{field}' must be a number, got a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    if lenient and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise RecordError(f"'{field}' is not a number: {value[:40]!r}") from None
    raise RecordError(f"'{field}' must be a number, got {type(value).__name__}")


def parse_amount(value: object, lenient: bool = False) -> float:
    if value is None or value == "":
        raise RecordError("missing required field 'amount'")
    amount = _number(value, "amount", lenient)
    if math.isnan(amount) or math.isinf(amount):
        raise RecordError(f"'amount' must be finite, got {amount}")
    if amount < 0:
        raise RecordError(f"'amount' must not be negative, got {amount}")
    if amount > MAX_AMOUNT:
        raise RecordError(f"'amount' {amount:.0f} is absurdly large (limit {MAX_AMOUNT:.0f})")
    return amount


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
        ts = _number(value, "timestamp", lenient)
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


def _optional_string(obj: dict, field: str) -> str | None:
    value = obj.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"'{field}' must be a string, got {type(value).__name__}")


def _country(obj: dict) -> str | None:
    value = _optional_string(obj, "country")
    if value is None:
        return None
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise RecordError(f"'country' must be an ISO-3166 alpha-2 code, got {value[:20]!r}")
    return value.upper()


def _coordinate(obj: dict, field: str, limit: float, lenient: bool) -> float | None:
    value = obj.get(field)
    if value is None or value == "":
        return None
    number = _number(value, field, lenient)
    if not -limit <= number <= limit:  # also rejects NaN
        raise RecordError(f"'{field}' must be within [-{limit:g}, {limit:g}], got {number}")
    return number


def _label(obj: dict) -> int | None:
    value = obj.get("is_fraud")
    if value is None or value == "":
        return None
    if value in (0, 1) or value in ("0", "1"):  # True/False compare equal to 1/0
        return int(value)
    if value in ("true", "false", "True", "False"):
        return int(value.lower() == "true")
    raise RecordError(f"'is_fraud' must be 0 or 1, got {str(value)[:20]!r}")


def _iso_z_seconds(stamp: str) -> float | None:
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
