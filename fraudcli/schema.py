"""The transaction record: field names, column mapping and validation (record or reject).

Validation is plain Python over one record: it runs once per input line, where a NumPy call
would cost more than the checks themselves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

REQUIRED = ("transaction_id", "timestamp", "user_id", "amount")
OPTIONAL = (
    "merchant_id",
    "merchant_category",
    "country",
    "lat",
    "lon",
    "device_id",
    "channel",
    "is_fraud",
)
FIELDS = REQUIRED + OPTIONAL
STRING_FIELDS = ("merchant_id", "merchant_category", "device_id", "channel")

MAX_AMOUNT = 10_000_000.0  # above this an amount is a data error, not a purchase
MIN_TS = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
MAX_TS = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
_MS_CUTOFF = 1e11  # epoch numbers above this are milliseconds (1e11 s is the year 5138)


class RecordError(ValueError):
    """A record fails validation; the message is the reject reason in plain words."""


@dataclass(slots=True)
class Txn:
    """A validated transaction. `ts` is epoch seconds (UTC); `extras` are pass-through fields."""

    transaction_id: str
    ts: float
    user_id: str
    amount: float
    merchant_id: str | None = None
    merchant_category: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    device_id: str | None = None
    channel: str | None = None
    is_fraud: int | None = None
    extras: dict | None = None
    ts_text: str | None = field(default=None, compare=False)  # the input's canonical ISO form

    def fields(self) -> dict:
        """The record's schema fields as a dict (timestamp as epoch seconds)."""
        return {
            "transaction_id": self.transaction_id,
            "timestamp": self.ts,
            "user_id": self.user_id,
            "amount": self.amount,
            "merchant_id": self.merchant_id,
            "merchant_category": self.merchant_category,
            "country": self.country,
            "lat": self.lat,
            "lon": self.lon,
            "device_id": self.device_id,
            "channel": self.channel,
            "is_fraud": self.is_fraud,
        }


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Schema field -> name used in the data, e.g. {"user_id": "CUSTOMER_ID"}."""

    mapping: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, mapping: Mapping[str, str]) -> ColumnMap:
        unknown = sorted(set(mapping) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown schema field(s) in column mapping: {', '.join(unknown)}")
        return cls(tuple(sorted(mapping.items())))

    def apply(self, obj: dict) -> dict:
        """Rename the data's columns to schema fields (a no-op without a mapping)."""
        for name, source in self.mapping:
            if source in obj:
                obj[name] = obj.pop(source)
        return obj


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
        if abs(ts) > _MS_CUTOFF:
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


def validate(obj: dict, lenient: bool = False) -> Txn:
    """Turn one input object into a Txn or raise RecordError with the reason.

    `lenient` accepts numbers written as strings (CSV cells); JSON numbers must be numbers.
    """
    fast = _validate_fast(obj)
    return fast if fast is not None else _validate_slow(obj, lenient)


def _validate_fast(obj: dict) -> Txn | None:
    """The common, clean case in one pass of cheap checks. None sends the record to the full
    checks, which accept every other valid form or say what is wrong."""
    get = obj.get
    tid, uid, amount = get("transaction_id"), get("user_id"), get("amount")
    if type(tid) is not str or type(uid) is not str or not tid or not uid:
        return None
    if (type(amount) is not float and type(amount) is not int) or not 0.0 <= amount <= MAX_AMOUNT:
        return None  # NaN fails the range check too
    stamp = get("timestamp")
    ts = _iso_z_seconds(stamp) if type(stamp) is str else None
    if ts is None:
        return None
    merchant, category, device, channel = (
        get("merchant_id"),
        get("merchant_category"),
        get("device_id"),
        get("channel"),
    )
    for value in (merchant, category, device, channel):
        if value is not None and (type(value) is not str or not value):
            return None
    country, label, lat, lon = get("country"), get("is_fraud"), get("lat"), get("lon")
    if country is not None and not (
        type(country) is str
        and len(country) == 2
        and country.isascii()
        and country.isalpha()
        and country.isupper()
    ):
        return None
    if label is not None and (type(label) is not int or label not in (0, 1)):
        return None
    if lat is not None or lon is not None:
        if type(lat) is not float or type(lon) is not float:
            return None
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            return None
    extras = (
        None
        if _FIELD_SET.issuperset(obj)
        else {k: v for k, v in obj.items() if k not in _FIELD_SET}
    )
    return Txn(
        tid,
        ts,
        uid,
        float(amount),
        merchant,
        category,
        country,
        lat,
        lon,
        device,
        channel,
        label,
        extras,
        stamp,
    )


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


def _validate_slow(obj: dict, lenient: bool) -> Txn:
    extras = {k: v for k, v in obj.items() if k not in _FIELD_SET} or None
    lat = _coordinate(obj, "lat", 90.0, lenient)
    lon = _coordinate(obj, "lon", 180.0, lenient)
    if (lat is None) != (lon is None):
        lat = lon = None  # half a location is no location
    stamp = obj.get("timestamp")
    return Txn(
        transaction_id=_identifier(obj, "transaction_id"),
        ts=parse_timestamp(stamp, lenient),
        user_id=_identifier(obj, "user_id"),
        amount=parse_amount(obj.get("amount"), lenient),
        merchant_id=_optional_string(obj, "merchant_id"),
        merchant_category=_optional_string(obj, "merchant_category"),
        country=_country(obj),
        lat=lat,
        lon=lon,
        device_id=_optional_string(obj, "device_id"),
        channel=_optional_string(obj, "channel"),
        is_fraud=_label(obj),
        extras=extras,
        # the text as written when it is already what format_timestamp would write
        ts_text=stamp if type(stamp) is str and _iso_z_seconds(stamp) is not None else None,
    )


_FIELD_SET = frozenset(FIELDS)


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
