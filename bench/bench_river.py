"""The same stream through River (predict then learn) and through our pipeline.

River's pipeline has per-user time-windowed aggregates equivalent to ours (counts over 1h, 24h,
7d, 30d and mean amounts over 24h, 7d, 30d) + StandardScaler + LogisticRegression; ours is the
full pipeline (26 features, model, rules, decision, state update). Both run on the same
pre-parsed records, so JSON parsing is out of both figures.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings

from bench.common import figure, trained_model

N = 50_000


def _records():
    from fraudcli.records.schema import Txn
    from fraudcli.simulation.simulate import simulate

    table = simulate(N, seed=7, start="2026-03-02", days=15)
    ts = table.column("timestamp").cast("int64").to_pylist()
    rows = table.to_pylist()
    txns = []
    for t, row in zip(ts, rows, strict=True):
        txns.append(
            Txn(
                row["transaction_id"],
                t / 1000,
                row["user_id"],
                row["amount"],
                row["merchant_id"],
                row["merchant_category"],
                row["country"],
                row["lat"],
                row["lon"],
                row["device_id"],
                row["channel"],
                row["is_fraud"],
            )
        )
    return txns


def _river_pipeline():
    try:
        from river import compose, feature_extraction, linear_model, preprocessing, stats, utils
    except ImportError:
        raise SystemExit(
            "River, the peer these figures compare with, is a bench-only dependency: "
            "`make bench` installs it (pip install -e '.[dev,bench]')"
        ) from None

    windows = {
        "1h": dt.timedelta(hours=1),
        "24h": dt.timedelta(days=1),
        "7d": dt.timedelta(days=7),
        "30d": dt.timedelta(days=30),
    }
    aggs = [
        feature_extraction.Agg(
            on="one",
            by="user_id",  # a windowed count: Sum of ones
            how=utils.TimeRolling(stats.Sum, period=w),
        )
        for w in windows.values()
    ]
    aggs += [
        feature_extraction.Agg(
            on="amount", by="user_id", how=utils.TimeRolling(stats.Mean, period=w)
        )
        for name, w in windows.items()
        if name != "1h"
    ]
    features = compose.TransformerUnion(*aggs) + compose.Select("amount")
    return features | preprocessing.StandardScaler() | linear_model.LogisticRegression()


def _river_rate(txns) -> float:
    model = _river_pipeline()
    events = [
        (
            {"user_id": t.user_id, "amount": t.amount, "one": 1.0},
            dt.datetime.fromtimestamp(t.ts, dt.UTC).replace(tzinfo=None),
            t.is_fraud,
        )
        for t in txns
    ]
    started = time.perf_counter()
    for x, moment, y in events:
        model.predict_proba_one(x)
        model.learn_one(x, y, t=moment)
    return len(events) / (time.perf_counter() - started)


def _our_rate(txns) -> float:
    from fraudcli.config.load import load_config
    from fraudcli.scoring.load import open_bundle

    pipeline = open_bundle(load_config(), trained_model(), fresh_state=True).pipeline
    started = time.perf_counter()
    for txn in txns:
        pipeline.decide(txn)
    return len(txns) / (time.perf_counter() - started)


def _our_column_rate(txns) -> float:
    """The same records as columns through the column path (`fraud score` on a file): the same
    decisions as `decide` one by one (tests/scoring/test_blocks.py), a block at a time."""
    import numpy as np

    from fraudcli.config.load import load_config
    from fraudcli.records.columns import ValidBlock, txn_columns
    from fraudcli.scoring.load import open_bundle

    scorer = open_bundle(load_config(), trained_model(), fresh_state=True).column_scorer()
    block = ValidBlock(len(txns), np.arange(1, len(txns) + 1), txn_columns(txns), {}, [])
    started = time.perf_counter()
    scorer.decide(block)
    return len(txns) / (time.perf_counter() - started)


def run() -> None:
    txns = _records()
    ours = _our_rate(txns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = _river_rate(txns)
        except ImportError:
            figure("River not installed (pip install -e '.[bench]')", "skipped")
            return
    columns = _our_column_rate(txns)
    figure(
        f"fraudcli column path, {len(txns):,} events (26 features + rules)", f"{columns:,.0f} ev/s"
    )
    figure("fraudcli record path (one by one, as replay)", f"{ours:,.0f} ev/s")
    figure("River pipeline (7 windowed aggregates + scaler + LR)", f"{theirs:,.0f} ev/s")
    figure("  ratio fraudcli column path / River", f"{columns / theirs:.1f}x", "aim >= 10x")
    figure("  ratio fraudcli record path / River", f"{ours / theirs:.1f}x")
