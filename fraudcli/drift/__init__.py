"""Drift statistics: the reference profile, comparisons of current data with it, and verdicts.

profile.py builds the reference; compare.py and stream.py measure current data against it;
stats.py holds the statistics; verdict.py turns effect sizes into levels. Pure: no I/O."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "CategoricalDrift": "compare",
    "CategoryShare": "compare",
    "NumericDrift": "compare",
    "compare_categorical": "compare",
    "compare_numeric": "compare",
    "psi_by_period": "compare",
    "CategoricalProfile": "profile",
    "NumericProfile": "profile",
    "Profile": "profile",
    "build_profile": "profile",
    "profile_categorical": "profile",
    "profile_numeric": "profile",
    "benjamini_hochberg": "stats",
    "js_distance": "stats",
    "psi": "stats",
    "CategoricalAccumulator": "stream",
    "NumericAccumulator": "stream",
    "DatasetVerdict": "verdict",
    "DriftThresholds": "verdict",
    "FeatureVerdict": "verdict",
    "judge_drift": "verdict",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
