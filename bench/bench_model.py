"""What the model is worth on a later period it never saw, before and after issue 13.

Both models are trained on the sample's world (200,000 transactions over 60 days, seed 7, as
`sample_data/train.parquet`) and judged on the next 60 days (200,000 more of the same world,
features continued from the training data's state, as `fraud evaluate` does):

    before   the model up to issue 13: standardised raw features, one coefficient each,
             balanced class weights, C = 1, fitted on the training slice only
    after    `fraud train` now: binned features, no class weights, C chosen on the validation
             slice, refitted on every labelled row
"""

from __future__ import annotations

import time

import numpy as np

from bench.common import CACHE, SEED, figure

N, DAYS = 200_000, 60.0
TRAIN_START, LATER_START = "2026-01-01", "2026-03-02"


def run() -> None:
    table, later = period_features()
    _report("before", table, later, _before(table, later))
    scores, review = _after(table, later)
    _report("after", table, later, scores)
    _losses(table.y[later], scores, table.amount[later], review)


def period_features():
    """The feature table of the training period followed by the later one, and which rows
    are later (one run through the store: the later rows see the training data's state)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fraudcli.config.load import load_config
    from fraudcli.features.from_parquet import clean_parquet_table
    from fraudcli.features.store import InMemoryStore
    from fraudcli.simulation.simulate import simulate

    path = CACHE / "model-periods.parquet"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        first = simulate(N, seed=SEED, start=TRAIN_START, days=DAYS)
        second = simulate(N, seed=SEED, start=LATER_START, days=DAYS)
        pq.write_table(pa.concat_tables([first, second]), path)
    config = load_config()
    table = clean_parquet_table(path, config.columns, InMemoryStore(config.store), need_labels=True)
    later = np.zeros(len(table), dtype=bool)
    later[N:] = True
    return table, later


def _before(table, later) -> np.ndarray:
    from fraudcli.commands.train import time_split
    from fraudcli.config.load import load_config
    from fraudcli.model.logreg import LogisticRegression
    from fraudcli.model.scaler import StandardScaler

    config = load_config()
    rows, _ = time_split(table.ts[~later], config.policy.validation_fraction, 7 * 86400.0)
    X, y = table.X[~later][rows], table.y[~later][rows]
    scaler = StandardScaler().fit(X)
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(scaler.transform(X), y)
    return model.predict_fraud_proba(scaler.transform(table.X[later]))


def _after(table, later) -> np.ndarray:
    from dataclasses import replace

    from fraudcli.commands.score import RunSummary
    from fraudcli.commands.train import train_table
    from fraudcli.config.load import load_config
    from fraudcli.features.store import InMemoryStore
    from fraudcli.model.scorer import load_scorer

    config = load_config()
    past = replace(
        table,
        X=table.X[~later],
        y=table.y[~later],
        ts=table.ts[~later],
        amount=table.amount[~later],
        transaction_id=table.transaction_id[:N],
        user_id=table.user_id[:N],
        categorical={k: v[:N] for k, v in table.categorical.items()},
    )
    started = time.perf_counter()
    result = train_table(past, RunSummary(N, N, 0), InMemoryStore(config.store), config)
    figure("after: fit, grid, refit and profile", f"{time.perf_counter() - started:.1f} s")
    figure("  C chosen on the validation slice", f"{result.fit['C']:g}")
    return load_scorer(result.bundle.model).proba(table.X[later]), result.thresholds["review"]


def _report(name: str, table, later, p: np.ndarray) -> None:
    from fraudcli.model.calibration import brier, constant_brier, expected_calibration_error
    from fraudcli.model.metrics import (
        average_precision,
        roc_auc,
        top_k_card_precision_per_day,
        top_k_precision_per_day,
    )

    y = table.y[later]
    day = (table.ts[later] // 86400).astype(np.int64)
    users = np.asarray(table.user_id[N:])
    rate = y.mean()
    figure(f"{name}: later period AUC-ROC", f"{roc_auc(y, p):.4f}")
    figure(f"{name}:   average precision", f"{average_precision(y, p):.4f}")
    figure(
        f"{name}:   precision of the top 100 a day",
        f"{top_k_precision_per_day(y, p, day, 100):.4f}",
    )
    cards = top_k_card_precision_per_day(y, p, day, users, 100)
    figure(f"{name}:   ... of the top 100 users a day", f"{cards:.4f}")
    figure(
        f"{name}:   precision of the top 10 a day", f"{top_k_precision_per_day(y, p, day, 10):.4f}"
    )
    figure(f"{name}:   Brier (constant predictor)", f"{brier(y, p):.5f} ({constant_brier(y):.5f})")
    figure(f"{name}:   ECE, 10 bins", f"{expected_calibration_error(y, p):.5f}")
    figure(f"{name}:   mean fraud_probability / rate", f"{p.mean():.5f} / {rate:.5f}")


def _losses(y: np.ndarray, p: np.ndarray, amount: np.ndarray, review: float) -> None:
    """The loss a day when each review costs c and a missed fraud its amount (the model alone,
    no rules): the alert budget's threshold, that plus the expected-loss rule, the rule alone."""
    days = DAYS
    for cost in (10.0, 25.0):
        policies = {
            "budget": p >= review,
            "budget + loss": (p >= review) | (p * amount > cost),
            "loss alone": p * amount > cost,
        }
        for name, flagged in policies.items():
            missed = float(amount[(y == 1) & ~flagged].sum())
            loss = (missed + cost * flagged.sum()) / days
            figure(
                f"review cost {cost:g}: {name}: loss a day",
                f"{loss:,.0f}",
                f"({flagged.sum() / days:.1f} reviews a day)",
            )
