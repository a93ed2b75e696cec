"""Drift between the reference profile (stored in the model bundle) and current data.

profile.py builds the reference; compare.py and stream.py measure current data against it;
stats.py holds the statistics; verdict.py turns effect sizes into levels.
"""

from __future__ import annotations

from fraudcli.drift.compare import (
    CategoricalDrift,
    CategoryShare,
    NumericDrift,
    compare_categorical,
    compare_numeric,
    psi_by_period,
)
from fraudcli.drift.profile import (
    CategoricalProfile,
    NumericProfile,
    Profile,
    build_profile,
    profile_categorical,
    profile_numeric,
)
from fraudcli.drift.stats import benjamini_hochberg, js_distance, psi
from fraudcli.drift.stream import CategoricalAccumulator, NumericAccumulator
from fraudcli.drift.verdict import DatasetVerdict, DriftThresholds, FeatureVerdict, judge_drift

__all__ = [
    "CategoricalAccumulator",
    "CategoricalDrift",
    "CategoricalProfile",
    "CategoryShare",
    "DatasetVerdict",
    "FeatureVerdict",
    "NumericAccumulator",
    "NumericDrift",
    "NumericProfile",
    "Profile",
    "DriftThresholds",
    "benjamini_hochberg",
    "build_profile",
    "compare_categorical",
    "compare_numeric",
    "judge_drift",
    "js_distance",
    "profile_categorical",
    "profile_numeric",
    "psi",
    "psi_by_period",
]
