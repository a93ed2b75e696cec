"""The reference profile stored in a model bundle: what the model saw at training time.

Per feature and raw field: quantile bins, counts, missing rate, a sample (numeric) or category
frequencies (categorical); the distribution of `fraud_probability`, the decision rates and the
fraud rate. Rows in the warm-up at the start of the data (the longest window plus the label
delay, while the store was still filling) are left out when enough rows remain, so a cold
start is not mistaken for drift later.
"""

from __future__ import annotations

import numpy as np

from fraudcli.decision.engine import DecisionEngine
from fraudcli.drift.profile import build_profile
from fraudcli.features.feature_table import CATEGORICAL, RECORD, FeatureTable
from fraudcli.features.spec import FEATURE_NAMES, LONGEST_WINDOW
from fraudcli.model.scorer import Scorer

MODEL_NUMERIC = "fraud_probability"
MODEL_CATEGORICAL = ("decision", "is_fraud")
DECISION_SAMPLE = 20_000  # decisions need the rules, one record at a time: a sample suffices
MIN_SHARE_AFTER_WARMUP = 0.2


def steady_rows(ts: np.ndarray, label_delay: float) -> np.ndarray:
    """Rows after the warm-up, or every row when too few would remain."""
    if not len(ts):
        return np.ones(0, dtype=bool)
    rows = ts >= ts.min() + LONGEST_WINDOW + label_delay
    return rows if rows.mean() >= MIN_SHARE_AFTER_WARMUP else np.ones(len(ts), dtype=bool)


def profile_columns(
    table: FeatureTable, rows: np.ndarray, probability: np.ndarray, decisions: list[str] | None
) -> tuple[dict, dict]:
    """The numeric and categorical columns a profile (or a comparison) is made of."""
    numeric = {name: table.X[rows, j] for j, name in enumerate(FEATURE_NAMES)}
    numeric[MODEL_NUMERIC] = probability[rows]
    for name in ("lat", "lon"):  # raw fields: where cards are used
        numeric[name] = np.array(_subset(table.categorical[name], rows), dtype=np.float64)
    categorical = {name: _subset(table.categorical[name], rows) for name in CATEGORICAL}
    labels = table.y[rows]
    for name in ("merchant_id", "device_id"):  # raw ids: only whether they are present
        categorical[f"has_{name}"] = [
            None if v is None else "yes" for v in _subset(table.categorical[name], rows)
        ]
    categorical["is_fraud"] = [None if v < 0 else str(int(v)) for v in labels.tolist()]
    if decisions is not None:
        categorical["decision"] = decisions
    return numeric, categorical


def _subset(values: list, rows: np.ndarray) -> list:
    return [v for v, keep in zip(values, rows.tolist(), strict=True) if keep]


def reference_profile(
    table: FeatureTable,
    scorer: Scorer,
    engine: DecisionEngine,
    label_delay: float,
) -> dict:
    """The profile of the training data (after its warm-up) as JSON-ready data."""
    rows = steady_rows(table.ts, label_delay)
    return steady_profile(table, rows, scorer, engine, int(len(rows) - rows.sum()))


def steady_profile(
    table: FeatureTable, rows: np.ndarray, scorer: Scorer, engine: DecisionEngine, excluded: int
) -> dict:
    """The profile of the table's `rows` (its steady ones; `excluded` rows of the warm-up were
    left out before, on the Dask engine a sample of them)."""
    probability = scorer.proba(table.X)
    numeric, categorical = profile_columns(table, rows, probability, None)
    profile = build_profile(numeric, categorical).to_dict()
    sample = np.flatnonzero(rows)[:: max(1, int(rows.sum()) // DECISION_SAMPLE)]
    decisions = decide_rows(table, sample, probability, engine)
    profile["decisions"] = build_profile({}, {"decision": decisions}).to_dict()["categorical"]
    profile["warmup_excluded"] = excluded
    return profile


def decide_rows(
    table: FeatureTable, rows: np.ndarray, probability: np.ndarray, engine: DecisionEngine
) -> list[str]:
    """The engine's decision (thresholds and rules) for the given rows of a feature table."""
    out = []
    for i in rows.tolist():
        values = dict(zip(FEATURE_NAMES, table.X[i].tolist(), strict=True))
        values |= {name: table.categorical[name][i] for name in CATEGORICAL + RECORD}
        values["user_id"] = table.user_id[i]
        out.append(engine.decide(float(probability[i]), values, None).decision)
    return out
