"""Our own logistic regression on binned features (bins, fit, C and refit, the serving scorer),
the plain linear one it replaced, calibration and evaluation metrics."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "BinnedScorer": "binned",
    "BinnedLogisticRegression": "binned_fit",
    "bin_codes": "binning",
    "learn_edges": "binning",
    "brier": "calibration",
    "expected_calibration_error": "calibration",
    "reliability": "calibration",
    "LinearScorer": "logreg",
    "LogisticRegression": "logreg",
    "Metrics": "metrics",
    "choose_thresholds": "metrics",
    "evaluate": "metrics",
    "StandardScaler": "scaler",
    "Scorer": "scorer",
    "load_scorer": "scorer",
    "fit_first": "select",
    "refit": "select",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
