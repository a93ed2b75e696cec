"""The whole comparison in one call: every profiled column against the current data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fraudcli.drift.compare import (
    CategoricalDrift,
    NumericDrift,
    compare_categorical,
    compare_numeric,
)
from fraudcli.drift.profile import Profile
from fraudcli.drift.verdict import DatasetVerdict, Thresholds, judge


@dataclass(frozen=True)
class DriftReport:
    numeric: dict[str, NumericDrift]
    categorical: dict[str, CategoricalDrift]
    verdict: DatasetVerdict
    not_compared: tuple[str, ...]  # profiled columns absent from the current data

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.to_dict(),
            "numeric": {name: d.to_dict() for name, d in self.numeric.items()},
            "categorical": {name: d.to_dict() for name, d in self.categorical.items()},
            "not_compared": list(self.not_compared),
        }


def compare_profile(
    profile: Profile,
    numeric: Mapping[str, Any],
    categorical: Mapping[str, Any],
    thresholds: Thresholds | None = None,
) -> DriftReport:
    """Compare the current columns with `profile` (columns it does not profile are ignored)."""
    num = {n: compare_numeric(p, numeric[n]) for n, p in profile.numeric.items() if n in numeric}
    cat = {
        n: compare_categorical(p, categorical[n])
        for n, p in profile.categorical.items()
        if n in categorical
    }
    absent = [n for n in [*profile.numeric, *profile.categorical] if n not in num and n not in cat]
    return DriftReport(num, cat, judge(num, cat, thresholds), tuple(absent))
