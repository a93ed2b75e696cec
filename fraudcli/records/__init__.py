"""The transaction record: its fields and validation, timestamps, Arrow column checks, rejects,
duplicate ids, and the `read = written + rejected` accounting."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "RunSummary": "accounting",
    "accepted": "accounting",
    "ValidBlock": "columns",
    "BlockDuplicates": "duplicates",
    "RecordDuplicates": "duplicates",
    "RecordError": "field_checks",
    "Item": "rejects",
    "Reject": "rejects",
    "RejectSink": "rejects",
    "ColumnMap": "schema",
    "FIELDS": "schema",
    "RECORD_FIELDS": "schema",
    "Txn": "schema",
    "validate": "schema",
    "format_timestamp": "timestamps",
    "parse_timestamp": "timestamps",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
