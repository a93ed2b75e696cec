"""The library function behind each subcommand: `fraud train` is `train_file`, and so on."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "drift_report": "drift_report",
    "evaluate_file": "evaluate",
    "features_file": "features",
    "label_file": "label",
    "score_file": "score",
    "show_state": "state_show",
    "simulate_file": "simulate",
    "train_file": "train",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
