"""Verdicts that do not cry wolf: effect sizes decide, p-values only support.

With a million rows every test is "significant" for differences nobody cares about, so a
feature's level comes from how far its distribution moved:

    numeric      PSI          < psi_warn stable, < psi_drift warn, else drift
    categorical  JS distance  < js_warn  stable, < js_drift  warn, else drift
    both         |missing rate change| against missing_warn / missing_drift

and the feature takes the worse of its two levels. The KS (numeric) and chi-squared
(categorical) p-values are Benjamini-Hochberg adjusted across all features and reported as
supporting evidence (`significant` = adjusted p <= alpha); they never change a level.

Dataset: "drift" if more than `max_drift_features` features drift (default: any) or at least
`warn_share` of the features are at warn or worse; "warn" if any feature warns; else "stable".
An undefined statistic (NaN, e.g. an all-missing column) never raises a level by itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from fraudcli.drift._json import num
from fraudcli.drift.compare import CategoricalDrift, NumericDrift
from fraudcli.drift.stats import benjamini_hochberg
from fraudcli.errors import UsageError
from fraudcli.ranges import PSI

LEVELS = ("stable", "warn", "drift")


@dataclass(frozen=True)
class DriftThresholds:
    psi_warn: float = 0.10
    psi_drift: float = 0.25
    js_warn: float = 0.10
    js_drift: float = 0.20
    missing_warn: float = 0.05  # absolute change of the missing rate
    missing_drift: float = 0.20
    warn_share: float = 0.30
    max_drift_features: int = 0
    alpha: float = 0.05

    def __post_init__(self) -> None:
        for name in ("psi_warn", "psi_drift"):  # the two a user sets (drift-report options)
            value = getattr(self, name)
            if value not in PSI:
                option = f"--{name.replace('_', '-')}"
                raise UsageError(f"{option} must be a finite number with {PSI}, got {value!r}")
        if self.psi_warn > self.psi_drift:
            raise UsageError(
                f"--psi-warn ({self.psi_warn:g}) must not be above --psi-drift ({self.psi_drift:g})"
            )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class FeatureVerdict:
    name: str
    kind: str  # "numeric" or "categorical"
    level: str  # one of LEVELS
    effect: float  # PSI or JS distance
    missing_change: float  # current minus reference missing rate
    p_value: float  # KS or chi-squared, raw
    p_adjusted: float  # Benjamini-Hochberg across all features
    significant: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        d = {k: num(v) if isinstance(v, float) else v for k, v in asdict(self).items()}
        d["reasons"] = list(self.reasons)
        return d


@dataclass(frozen=True)
class DatasetVerdict:
    level: str
    n_features: int
    n_warn: int
    n_drift: int
    features: tuple[FeatureVerdict, ...]
    thresholds: DriftThresholds

    @property
    def reason(self) -> str:
        """Why the dataset has its level, in the words of the rule that set it."""
        t, n, worse = self.thresholds, self.n_features, self.n_warn + self.n_drift
        if self.n_drift > t.max_drift_features:
            return f"{self.n_drift} of {n} inputs drift (more than {t.max_drift_features} allowed)"
        if self.level == "drift":
            return f"{worse} of {n} inputs warn or drift (at least {t.warn_share:.0%} of them)"
        if self.level == "warn":
            return f"{self.n_warn} of {n} inputs warn (fewer than {t.warn_share:.0%} of them)"
        return f"none of {n} inputs warns or drifts"

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "reason": self.reason,
            "n_features": self.n_features,
            "n_warn": self.n_warn,
            "n_drift": self.n_drift,
            "features": [f.to_dict() for f in self.features],
            "thresholds": self.thresholds.to_dict(),
        }


def level_of(value: float, warn: float, drift: float) -> str:
    """ "drift" if value >= drift, "warn" if value >= warn, else "stable" (NaN is stable)."""
    if math.isnan(value) or value < warn:
        return "stable"
    return "warn" if value < drift else "drift"


def _worst(*levels: str) -> str:
    return max(levels, key=LEVELS.index)


def feature_level(
    kind: str, effect: float, missing_change: float, t: DriftThresholds
) -> tuple[str, tuple[str, ...]]:
    """(level, reasons) of one feature from its effect size and its missing-rate change."""
    name, warn, drift = ("psi", t.psi_warn, t.psi_drift)
    if kind == "categorical":
        name, warn, drift = ("js", t.js_warn, t.js_drift)
    by_effect = level_of(effect, warn, drift)
    by_missing = level_of(abs(missing_change), t.missing_warn, t.missing_drift)
    reasons = []
    if by_effect != "stable":
        reasons.append(f"{name} {effect:.3f} >= {warn if by_effect == 'warn' else drift:g}")
    if by_missing != "stable":
        reasons.append(f"missing rate {missing_change:+.3f}")
    return _worst(by_effect, by_missing), tuple(reasons)


def _rows(
    numeric: Mapping[str, NumericDrift], categorical: Mapping[str, CategoricalDrift]
) -> list[tuple[str, str, float, float, float]]:
    """(name, kind, effect, missing change, p-value) of every feature."""
    rows = [
        (n, "numeric", d.psi, d.missing_rate_cur - d.missing_rate_ref, d.ks_pvalue)
        for n, d in numeric.items()
    ]
    rows += [
        (n, "categorical", d.js_distance, d.missing_rate_cur - d.missing_rate_ref, d.chi2_pvalue)
        for n, d in categorical.items()
    ]
    return rows


def judge_drift(
    numeric: Mapping[str, NumericDrift],
    categorical: Mapping[str, CategoricalDrift],
    thresholds: DriftThresholds | None = None,
) -> DatasetVerdict:
    """Per-feature levels, BH-adjusted p-values, and the dataset-level verdict."""
    t = thresholds or DriftThresholds()
    rows = _rows(numeric, categorical)
    adjusted = benjamini_hochberg(np.array([r[4] for r in rows], dtype=np.float64))
    features = []
    for (name, kind, effect, missing, p), p_adj in zip(rows, adjusted.tolist(), strict=True):
        level, reasons = feature_level(kind, effect, missing, t)
        features.append(
            FeatureVerdict(name, kind, level, effect, missing, p, p_adj, p_adj <= t.alpha, reasons)
        )
    return dataset_verdict(tuple(features), t)


def dataset_verdict(features: tuple[FeatureVerdict, ...], t: DriftThresholds) -> DatasetVerdict:
    n = len(features)
    n_drift = sum(f.level == "drift" for f in features)
    n_warn = sum(f.level == "warn" for f in features)
    if n_drift > t.max_drift_features or (n and (n_warn + n_drift) / n >= t.warn_share):
        level = "drift"
    else:
        level = "warn" if n_warn else "stable"
    return DatasetVerdict(level, n, n_warn, n_drift, features, t)
