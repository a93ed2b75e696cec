"""`fraud evaluate`: score labelled data through the pipeline and compare with the labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from fraudcli.config import Config
from fraudcli.errors import InputError
from fraudcli.io import read_batches
from fraudcli.model.metrics import Metrics, evaluate
from fraudcli.rejects import RejectSink
from fraudcli.runtime import load_pipeline
from fraudcli.score import RunSummary, scored_file, tallied
from fraudcli.score_columns import Scored


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics
    summary: RunSummary
    thresholds: dict[str, float | str | None]
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
    summary, sink, seen = RunSummary(), RejectSink(rejects_path), _Labelled()
    try:
        blocks = scored_file(
            data, config, loaded.bundle, sink, summary,
            fresh_state=fresh_state, strict=strict, on_batch=on_batch,
        )  # fmt: skip
        if blocks is not None:  # a file: the column path
            for scored in blocks:
                seen.add_block(scored)
        else:
            decide = loaded.pipeline.decide
            batches = read_batches(data, config.columns)
            for txns in tallied(batches, sink, summary, strict=strict, on_batch=on_batch):
                for txn in txns:
                    _, decision = decide(txn)
                    summary.decisions[decision.decision] += 1
                    seen.add(txn, decision.fraud_probability)
    finally:
        sink.close()
    label, probability, amount, ts, unlabelled = seen.arrays()
    if not len(label):
        raise InputError("no labelled records (`is_fraud`) to evaluate against")
    thresholds = loaded.pipeline.engine.thresholds
    day = (ts // 86400).astype(np.int64)
    metrics = evaluate(label, probability, amount, day, thresholds.review, thresholds.block)
    return Evaluation(metrics, summary, thresholds.to_dict(), unlabelled)


class _Labelled:
    """The labelled records' label, score, amount and time, record by record or by blocks."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, float, float, float]] = []
        self.blocks: list[tuple[np.ndarray, ...]] = []
        self.unlabelled = 0

    def add(self, txn, probability: float) -> None:
        if txn.is_fraud is None:
            self.unlabelled += 1
        else:
            self.rows.append((txn.is_fraud, probability, txn.amount, txn.ts))

    def add_block(self, scored: Scored) -> None:
        data, n = scored.data, len(scored.p)
        label = data.get("is_fraud")
        if label is None:
            self.unlabelled += n
            return
        keep = pc.is_valid(label).to_numpy(zero_copy_only=False)
        self.unlabelled += n - int(keep.sum())
        numbers = [pc.filter(data[name], keep).to_numpy() for name in ("is_fraud", "amount", "ts")]
        self.blocks.append((numbers[0], scored.p[keep], numbers[1], numbers[2]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """label (int8), probability, amount, ts, and the count of unlabelled records."""
        parts = [*self.blocks]
        if self.rows:
            parts.append(tuple(np.array(column) for column in zip(*self.rows, strict=True)))
        types = (np.int8, np.float64, np.float64, np.float64)
        columns = [
            np.concatenate([part[i] for part in parts]).astype(kind, copy=False)
            if parts
            else np.empty(0, kind)
            for i, kind in enumerate(types)
        ]
        return (*columns, self.unlabelled)
