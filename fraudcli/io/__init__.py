"""File formats: which format a path is, JSONL / CSV / Parquet readers (records one by one, and
blocks of valid records as Arrow columns), the JSONL encoder and the writers."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "column_blocks": "blocks",
    "Format": "formats",
    "count_rows": "formats",
    "detect_format": "formats",
    "ensure_readable": "formats",
    "GrowingWriter": "growing_writer",
    "encode_jsonl": "jsonl_encode",
    "MAX_LINE_BYTES": "lines",
    "read_batches": "read",
    "JsonlWriter": "writers",
    "open_writer": "writers",
    "write_table": "writers",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
