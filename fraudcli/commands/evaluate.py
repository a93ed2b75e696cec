"""`fraud evaluate`: score labelled data through the pipeline and compare with the labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from fraudcli.config import Config
from fraudcli.errors import InputError
from fraudcli.model.metrics import Metrics, evaluate
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.samples import SCORE, sample_path
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle
from fraudcli.scoring.output import Scored, ScoredRecords


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
    on_warning: Callable[[str], None] | None = None,
) -> Evaluation:
    """Decide every record of `data` (default: the shipped later sample, txns.jsonl),
    continuing from the bundle's state, and score the model against the labels."""
    opened = open_bundle(config, model_dir, fresh_state=fresh_state)
    summary, sink, seen = RunSummary(), RejectSink(rejects_path), Labelled()
    try:
        source = input_or_default(data)
        batches = decided(
            source, opened, sink, summary,
            strict=strict, on_batch=on_batch, on_warning=on_warning,
        )  # fmt: skip
        for batch in batches:
            seen.add(batch)
    finally:
        sink.close()
    label, probability, amount, ts, unlabelled = seen.arrays()
    if not len(label):
        raise InputError("no labelled records (`is_fraud`) to evaluate against")
    thresholds = opened.engine.thresholds
    day = (ts // 86400).astype(np.int64)
    metrics = evaluate(label, probability, amount, day, thresholds.review, thresholds.block)
    used = {"review": thresholds.review, "block": thresholds.block}
    return Evaluation(metrics, summary, used, unlabelled)


def input_or_default(data: Path | None) -> Path:
    """`data`, or the shipped later sample (txns.jsonl, labelled) when None."""
    return sample_path(SCORE) if data is None else data


class Labelled:
    """The labelled records' label, score, amount and time, batch by batch."""

    def __init__(self) -> None:
        self.blocks: list[tuple[np.ndarray, ...]] = []
        self.unlabelled = 0

    def add(self, scored: Scored | ScoredRecords) -> None:
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
        parts = self.blocks
        types = (np.int8, np.float64, np.float64, np.float64)
        columns = [
            np.concatenate([part[i] for part in parts]).astype(kind, copy=False)
            if parts
            else np.empty(0, kind)
            for i, kind in enumerate(types)
        ]
        return (*columns, self.unlabelled)
