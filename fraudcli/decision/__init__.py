"""Decisions: thresholds on the model's score, block lists and safe rule expressions, over one
record (`DecisionEngine`) or over columns (`VectorFlags`, `BatchJudge`)."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "BatchJudge": "batch_judge",
    "Blocklists": "engine",
    "Decision": "engine",
    "DecisionEngine": "engine",
    "Thresholds": "engine",
    "Rule": "rules",
    "compile_rule": "rules",
    "load_rules": "rules",
    "VectorFlags": "vector",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
