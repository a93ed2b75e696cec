"""Our own logistic regression, its scaler, the one-record scorer, and evaluation metrics."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "LinearScorer": "logreg",
    "LogisticRegression": "logreg",
    "Metrics": "metrics",
    "choose_thresholds": "metrics",
    "evaluate": "metrics",
    "StandardScaler": "scaler",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
