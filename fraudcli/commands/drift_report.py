"""`fraud drift-report`: the current data through the same pipeline, against the reference.

The current file is read in batches; each batch goes through the pipeline (features, model,
decision, state update, continuing from the bundle's state) and into streaming accumulators,
so memory stays bounded whatever the file's size. A file goes through `fraud score`'s column
path, proved equal to the record path (which a pipe goes through); so does `--reference` data
(`commands.reference_data`), whose state the current data then continues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fraudcli.commands.reference import MODEL_CATEGORICAL, MODEL_NUMERIC
from fraudcli.commands.reference_data import profile_of_data
from fraudcli.config.load import Config
from fraudcli.drift.compare import CategoricalDrift, NumericDrift
from fraudcli.drift.profile import Profile, bin_index
from fraudcli.drift.stats import psi_rows
from fraudcli.drift.stream import CategoricalAccumulator, NumericAccumulator
from fraudcli.drift.verdict import DatasetVerdict, DriftThresholds, judge_drift
from fraudcli.errors import BundleError, InputError, UsageError
from fraudcli.features.feature_table import CATEGORICAL
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.files import check_distinct
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.records.timestamps import format_timestamp
from fraudcli.samples import DRIFT, sample_path
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle
from fraudcli.scoring.output import Scored, ScoredRecords

PERIODS = {"hour": 3600.0, "day": 86400.0, "week": 7 * 86400.0}
# A feature of the calendar needs this much current data before its distribution can be
# compared: three weekdays have no weekend, which is no drift.
MIN_SPAN = {
    "is_weekend": 7 * 86400.0,
    "hour_sin": 86400.0,
    "hour_cos": 86400.0,
    "is_night": 86400.0,
}
# Calendar features are constant within a period, so their PSI per period means nothing.
CALENDAR = {
    "hour": {"is_weekend", "hour_sin", "hour_cos", "is_night"},
    "day": {"is_weekend"},
    "week": set(),
}


@dataclass(frozen=True)
class DriftResult:
    verdict: DatasetVerdict  # over the model's inputs: features and raw fields
    numeric: dict[str, NumericDrift]
    categorical: dict[str, CategoricalDrift]
    model_output: dict[str, NumericDrift | CategoricalDrift]
    by_period: dict[str, dict[str, float]] = field(default_factory=dict)  # feature -> period -> psi
    period: str | None = None
    summary: RunSummary = field(default_factory=RunSummary)
    reference: str = "model bundle"
    not_judged: tuple[str, ...] = ()  # calendar features the current data is too short for
    span_seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "reference": self.reference,
            "verdict": self.verdict.to_dict(),
            "numeric": {k: v.to_dict() for k, v in self.numeric.items()},
            "categorical": {k: v.to_dict() for k, v in self.categorical.items()},
            "model_output": {k: v.to_dict() for k, v in self.model_output.items()},
            "by_period": {"period": self.period, "psi": self.by_period},
            "not_judged": list(self.not_judged),
            "current_span_days": round(self.span_seconds / 86400.0, 3),
            "run": self.summary.to_dict(),
        }


class _Current:
    """Streaming accumulators for every profiled column, plus PSI counts per period."""

    def __init__(self, profile: Profile, decisions: Profile | None, period: float | None) -> None:
        self.numeric = {n: NumericAccumulator(p) for n, p in profile.numeric.items()}
        self.categorical = {n: CategoricalAccumulator(p) for n, p in profile.categorical.items()}
        if decisions is not None:
            self.categorical |= {
                n: CategoricalAccumulator(p) for n, p in decisions.categorical.items()
            }
        self.period = period
        self.first, self.last = np.inf, -np.inf
        skip = CALENDAR[_name_of(period)] if period else set()
        self.period_counts: dict[str, dict[int, np.ndarray]] = {
            n: {} for n in profile.numeric if n not in skip
        }

    def add(self, numeric: dict[str, np.ndarray], categorical: dict, ts: np.ndarray) -> None:
        if len(ts):
            self.first, self.last = min(self.first, ts.min()), max(self.last, ts.max())
        for name, acc in self.numeric.items():
            acc.add(numeric[name])
            if self.period is not None and name in self.period_counts:
                self._add_periods(name, numeric[name], ts)
        for name, acc in self.categorical.items():
            if name in categorical:
                acc.add(categorical[name])

    def _add_periods(self, name: str, values: np.ndarray, ts: np.ndarray) -> None:
        ref = self.numeric[name].ref
        finite = np.isfinite(values)
        bins = bin_index(ref.edges, values[finite])
        periods = (ts[finite] // self.period).astype(np.int64)
        counts = self.period_counts[name]
        for period in np.unique(periods).tolist():
            here = np.bincount(bins[periods == period], minlength=len(ref.counts))
            counts[period] = counts.get(period, 0) + here

    def psi_by_period(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, counts in self.period_counts.items():
            if not counts:
                continue
            keys = sorted(counts)
            psis = psi_rows(self.numeric[name].ref.counts, np.stack([counts[k] for k in keys]))
            out[name] = {_label(k, self.period): float(p) for k, p in zip(keys, psis, strict=True)}
        return out


def _name_of(length: float) -> str:
    return next(name for name, seconds in PERIODS.items() if seconds == length)


def _label(period: int, length: float) -> str:
    text = format_timestamp(period * length)
    return text[:10] if length >= 86400 else text[:13] + "h"


def drift_report(
    current: Path | None,
    *,
    config: Config,
    model_dir: Path | None = None,
    reference: Path | None = None,
    by: str | None = None,
    thresholds: DriftThresholds | None = None,
    rejects_path: Path | None = None,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
    state_path: Path | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> DriftResult:
    """Compare `current` (default: the shipped drifted sample) with the bundle's profile, or
    with `reference` data. The current data continues from the state at `state_path` (read,
    never written) or the bundle's."""
    if by is not None and by not in PERIODS:
        raise UsageError(f"--by must be one of {', '.join(PERIODS)}")
    if reference is not None and state_path is not None:
        raise UsageError("--reference continues from its own state: leave out --state")
    source = input_or_default(current)
    check_distinct([source, reference], [("--rejects", rejects_path)])
    opened = open_bundle(config, model_dir, state_path=state_path, profile=True)
    on_early = None
    if reference is not None:  # continue the current data from the reference's state
        profile_dict, state = profile_of_data(reference, opened)
        opened.continue_from(state)
        on_early = _starts_before_reference
    else:
        profile_dict = opened.bundle.profile
    profile, decisions = _parse_profile(profile_dict)
    acc = _Current(profile, decisions, PERIODS.get(by) if by else None)
    summary = RunSummary()
    with RejectSink(rejects_path) as sink:
        batches = decided(
            source, opened, sink, summary, strict=strict, on_batch=on_batch,
            on_warning=on_warning, on_early=on_early,
        )  # fmt: skip
        for batch in batches:
            add_batch(acc, batch)
    if summary.written == 0:
        raise InputError(f"no valid records in {current} to compare")
    return _result(acc, thresholds, summary, by, "data" if reference else "model bundle")


def input_or_default(current: Path | None) -> Path:
    """`current`, or the shipped drifted sample (drift.parquet) when None."""
    return sample_path(DRIFT) if current is None else current


def _parse_profile(data: dict) -> tuple[Profile, Profile | None]:
    try:
        profile = Profile.from_dict(data)
        decisions = data.get("decisions")
        extra = (
            Profile.from_dict({**data, "numeric": {}, "categorical": decisions})
            if decisions
            else None
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise BundleError(
            f"the bundle's reference profile is unreadable ({exc}): retrain"
        ) from None
    return profile, extra


def add_batch(acc: _Current, scored: Scored | ScoredRecords) -> None:
    """The profiled columns of a decided batch, into the accumulators."""
    data, n = scored.data, len(scored.p)

    def values(name: str) -> list:
        return data[name].to_pylist() if name in data else [None] * n

    numeric = {name: scored.X[:, j] for j, name in enumerate(FEATURE_NAMES)}
    numeric[MODEL_NUMERIC] = scored.p
    for name in ("lat", "lon"):
        numeric[name] = np.array(values(name), dtype=np.float64)
    categorical = {name: values(name) for name in CATEGORICAL}
    for name in ("merchant_id", "device_id"):
        categorical[f"has_{name}"] = [None if v is None else "yes" for v in values(name)]
    categorical["is_fraud"] = [None if v is None else str(int(v)) for v in values("is_fraud")]
    categorical["decision"] = scored.decisions()
    acc.add(numeric, categorical, data["ts"].to_numpy())


def _starts_before_reference(first: float, end: float) -> None:
    raise UsageError(
        f"the current data starts at {format_timestamp(first)}, before the reference data "
        f"ends ({format_timestamp(end)}): the current data continues the reference's feature "
        "state, and going back in time would make its window features meaningless. Give "
        "current data that follows the reference, or leave out --reference to compare with "
        "the model bundle's profile"
    )


def _result(acc: _Current, thresholds, summary, by, reference) -> DriftResult:
    numeric = {n: a.result() for n, a in acc.numeric.items()}
    categorical = {n: a.result() for n, a in acc.categorical.items()}
    model_names = {MODEL_NUMERIC, *MODEL_CATEGORICAL}
    inputs_num = {n: d for n, d in numeric.items() if n not in model_names}
    inputs_cat = {n: d for n, d in categorical.items() if n not in model_names}
    model_output = {n: d for n, d in {**numeric, **categorical}.items() if n in model_names}
    span = acc.last - acc.first
    not_judged = tuple(n for n, needed in MIN_SPAN.items() if n in inputs_num and span < needed)
    judged = {n: d for n, d in inputs_num.items() if n not in not_judged}
    verdict = judge_drift(judged, inputs_cat, thresholds)
    by_period = acc.psi_by_period() if by else {}
    return DriftResult(
        verdict,
        inputs_num,
        inputs_cat,
        model_output,
        by_period,
        by,
        summary,
        reference,
        not_judged,
        float(span),
    )
