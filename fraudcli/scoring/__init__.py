"""Deciding: the record path (`Pipeline`), the column path (`ColumnScorer`), the output record,
a bundle opened for deciding, and `decided()`, the one stream that chooses the path."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "ColumnScorer": "blocks",
    "decided": "decided",
    "OpenBundle": "load",
    "build_engine": "load",
    "open_bundle": "load",
    "Scored": "output",
    "ScoredRecords": "output",
    "output_record": "output",
    "Pipeline": "pipeline",
    "judge": "pipeline",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
