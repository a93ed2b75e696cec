"""`fraud evaluate`: score labelled data through the pipeline and compare with the labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraudcli.config import Config
from fraudcli.errors import InputError
from fraudcli.io import read_batches
from fraudcli.model.metrics import Metrics, evaluate
from fraudcli.rejects import RejectSink
from fraudcli.runtime import load_pipeline
from fraudcli.score import RunSummary, tallied


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics
    summary: RunSummary
    thresholds: dict[str, float]
    unlabelled: int

    def to_dict(self) -> dict:
        return {
            "metrics": self.metrics.to_dict(),
            "thresholds": self.thresholds,
            "unlabelled": self.unlabelled,
            "run": self.summary.to_dict(),
        }


def evaluate_file(
    data: Path | None,
    *,
    config: Config,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    fresh_state: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Evaluation:
    """Decide every record of `data` (continuing from the bundle's state) and score the model."""
    loaded = load_pipeline(config, model_dir, fresh_state=fresh_state)
    decide = loaded.pipeline.decide
    probability, label, amount, ts = [], [], [], []
    summary, unlabelled = RunSummary(), 0
    sink = RejectSink(rejects_path)
    try:
        batches = read_batches(data, config.columns)
        for txns in tallied(batches, sink, summary, strict=strict, on_batch=on_batch):
            for txn in txns:
                _, decision = decide(txn)
                summary.decisions[decision.decision] += 1
                if txn.is_fraud is None:
                    unlabelled += 1
                    continue
                probability.append(decision.fraud_probability)
                label.append(txn.is_fraud)
                amount.append(txn.amount)
                ts.append(txn.ts)
    finally:
        sink.close()
    if not label:
        raise InputError("no labelled records (`is_fraud`) to evaluate against")
    thresholds = loaded.pipeline.engine.thresholds
    y, p = np.asarray(label, np.int8), np.asarray(probability, np.float64)
    day = (np.asarray(ts) // 86400).astype(np.int64)
    metrics = evaluate(y, p, np.asarray(amount), day, thresholds.review, thresholds.block)
    used = {"review": thresholds.review, "block": thresholds.block}
    return Evaluation(metrics, summary, used, unlabelled)
