"""One output record as a line of JSON, the way every writer writes it (`DUMPS`). Kept apart
from the Arrow encoder (`fraudcli.io.jsonl_encode`), which loads `pyarrow.compute`, so the
record path's writers start without it."""

from __future__ import annotations

import json
from datetime import datetime


def json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


# One output line's JSON: compact, UTF-8 as is, datetimes as ISO text, anything else as str().
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=json_default).encode


def DUMPS(value: object) -> str:  # noqa: N802 - the encoder, used as a constant
    """One output line's JSON: compact, UTF-8 as is, datetimes as ISO text, anything else as
    str(), and always valid JSON: NaN and infinities (a pass-through `1e400`) become null."""
    text = _ENCODE(value)
    if "NaN" in text or "Infinity" in text:  # rare; a string holding the word costs a re-encode
        text = _ENCODE(finite_values(value))
    return text


def finite_values(value: object) -> object:
    """`value` with NaN and infinite floats replaced by None, in nested dicts and lists too."""
    if isinstance(value, float):
        return value if value - value == 0.0 else None
    if isinstance(value, dict):
        return {key: finite_values(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_values(v) for v in value]
    return value
