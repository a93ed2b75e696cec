"""One input field's value: parsed and checked, or a RecordError saying why not.

The per-field rules of `fraudcli.records.schema.validate`: identifiers and optional strings, amounts
and coordinates, the country code and the fraud label, and timestamps (ISO-8601 or epoch seconds or
milliseconds in; epoch seconds out, and back to ISO-8601 text with `format_timestamp`). Plain Python
over one value: it runs once per input field.
"""

from __future__ import annotations

import math

MAX_AMOUNT = 10_000_000.0  # above this an amount is a data error, not a purchase


class RecordError(ValueError):
    """A record fails validation; the message is the reject reason in plain words."""


def parse_identifier(obj: dict, field: str) -> str:
    value = obj.get(field)
    if value is None or value == "":
        raise RecordError(f"missing required field '{field}'")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"'{field}' must be a string, got {type(value).__name__}")


def parse_number(value: object, field: str, lenient: bool) -> float:
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
    amount = parse_number(value, "amount", lenient)
    if math.isnan(amount) or math.isinf(amount):
        raise RecordError(f"'amount' must be finite, got {amount}")
    if amount < 0:
        raise RecordError(f"'amount' must not be negative, got {amount}")
    if amount > MAX_AMOUNT:
        raise RecordError(f"'amount' {amount:.0f} is absurdly large (limit {MAX_AMOUNT:.0f})")
    return amount


def parse_optional_string(obj: dict, field: str) -> str | None:
    value = obj.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"'{field}' must be a string, got {type(value).__name__}")


def parse_country(obj: dict) -> str | None:
    value = parse_optional_string(obj, "country")
    if value is None:
        return None
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise RecordError(f"'country' must be an ISO-3166 alpha-2 code, got {value[:20]!r}")
    return value.upper()


def parse_coordinate(obj: dict, field: str, limit: float, lenient: bool) -> float | None:
    value = obj.get(field)
    if value is None or value == "":
        return None
    number = parse_number(value, field, lenient)
    if not -limit <= number <= limit:  # also rejects NaN
        raise RecordError(f"'{field}' must be within [-{limit:g}, {limit:g}], got {number}")
    return number


def parse_label(obj: dict) -> int | None:
    value = obj.get("is_fraud")
    if value is None or value == "":
        return None
    if value in (0, 1) or value in ("0", "1"):  # True/False compare equal to 1/0
        return int(value)
    if value in ("true", "false", "True", "False"):
        return int(value.lower() == "true")
    raise RecordError(f"'is_fraud' must be 0 or 1, got {str(value)[:20]!r}")
