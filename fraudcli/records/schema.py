"""The transaction record: field names, column mapping and validation (record or reject).

Validation is plain Python over one record: it runs once per input line, where a NumPy call
would cost more than the checks themselves. The checks of each field's value live in
`fraudcli.records.field_checks`, those of timestamps in `fraudcli.records.timestamps`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fraudcli.records.field_checks import (
    MAX_AMOUNT,
    parse_amount,
    parse_coordinate,
    parse_country,
    parse_identifier,
    parse_label,
    parse_optional_string,
)
from fraudcli.records.timestamps import iso_z_seconds, parse_timestamp

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


def validate(obj: dict, lenient: bool = False) -> Txn:
    """Turn one input object into a Txn or raise RecordError with the reason.

    `lenient` accepts numbers written as strings (CSV cells); JSON numbers must be numbers.
    """
    fast = validate_fast(obj)
    return fast if fast is not None else validate_slow(obj, lenient)


def validate_fast(obj: dict) -> Txn | None:
    """The common, clean case in one pass of cheap checks. None sends the record to the full
    checks, which accept every other valid form or say what is wrong."""
    get = obj.get
    tid, uid, amount = get("transaction_id"), get("user_id"), get("amount")
    if type(tid) is not str or type(uid) is not str or not tid or not uid:
        return None
    if (type(amount) is not float and type(amount) is not int) or not 0.0 <= amount <= MAX_AMOUNT:
        return None  # NaN fails the range check too
    stamp = get("timestamp")
    ts = iso_z_seconds(stamp) if type(stamp) is str else None
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
        None if FIELD_SET.issuperset(obj) else {k: v for k, v in obj.items() if k not in FIELD_SET}
    )
    return Txn(
        transaction_id=tid,
        ts=ts,
        user_id=uid,
        amount=float(amount),
        merchant_id=merchant,
        merchant_category=category,
        country=country,
        lat=lat,
        lon=lon,
        device_id=device,
        channel=channel,
        is_fraud=label,
        extras=extras,
        ts_text=stamp,
    )


def validate_slow(obj: dict, lenient: bool) -> Txn:
    extras = {k: v for k, v in obj.items() if k not in FIELD_SET} or None
    lat = parse_coordinate(obj, "lat", 90.0, lenient)
    lon = parse_coordinate(obj, "lon", 180.0, lenient)
    if (lat is None) != (lon is None):
        lat = lon = None  # half a location is no location
    stamp = obj.get("timestamp")
    return Txn(
        transaction_id=parse_identifier(obj, "transaction_id"),
        ts=parse_timestamp(stamp, lenient),
        user_id=parse_identifier(obj, "user_id"),
        amount=parse_amount(obj.get("amount"), lenient),
        merchant_id=parse_optional_string(obj, "merchant_id"),
        merchant_category=parse_optional_string(obj, "merchant_category"),
        country=parse_country(obj),
        lat=lat,
        lon=lon,
        device_id=parse_optional_string(obj, "device_id"),
        channel=parse_optional_string(obj, "channel"),
        is_fraud=parse_label(obj),
        extras=extras,
        # the text as written when it is already what format_timestamp would write
        ts_text=stamp if type(stamp) is str and iso_z_seconds(stamp) is not None else None,
    )


FIELD_SET = frozenset(FIELDS)


# The schema fields rules may read: all but the timestamp and the label, in schema order.
RECORD_FIELDS = tuple(f for f in FIELDS if f not in ("timestamp", "is_fraud"))
