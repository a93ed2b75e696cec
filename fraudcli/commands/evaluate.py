"""`fraud evaluate`: score labelled data through the pipeline and compare with the labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from fraudcli.config.load import Config
from fraudcli.errors import InputError
from fraudcli.files import check_distinct
from fraudcli.model.metrics import Metrics, evaluate
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.samples import SCORE, sample_path
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle, open_challenger
from fraudcli.scoring.output import Scored, ScoredRecords
from fraudcli.scoring.shadow import Shadow, ShadowComparison


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics
    summary: RunSummary
    thresholds: dict[str, float | str | None]
    unlabelled: int
    challenger: Metrics | None = None  # `--shadow`: the challenger's, on the same records
    challenger_thresholds: dict | None = None
    comparison: ShadowComparison | None = None

    def to_dict(self) -> dict:
        out = {
            "metrics": self.metrics.to_dict(),
            "thresholds": self.thresholds,
            "unlabelled": self.unlabelled,
            "run": self.summary.to_dict(),
        }
        if self.challenger is not None:
            out["challenger"] = {
                "metrics": self.challenger.to_dict(),
                "thresholds": self.challenger_thresholds,
            } | self.comparison.to_dict()
        return out


def evaluate_file(
    data: Path | None,
    *,
    config: Config,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    fresh_state: bool = False,
    state_path: Path | None = None,
    strict: bool = False,
    shadow_dir: Path | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Evaluation:
    """Decide every record of `data` (default: the shipped later sample, txns.jsonl),
    continuing from the state at `state_path` (read only) or the bundle's, and score the
    model against the labels; with `shadow_dir`, a challenger bundle beside it on the same
    records and features."""
    source = input_or_default(data)
    check_distinct([source], [("--rejects", rejects_path)])
    opened = open_bundle(config, model_dir, fresh_state=fresh_state, state_path=state_path)
    shadow = Shadow(open_challenger(config, shadow_dir), opened) if shadow_dir else None
    summary, seen = RunSummary(), Labelled()
    with RejectSink(rejects_path) as sink:
        batches = decided(
            source, opened, sink, summary,
            strict=strict, on_batch=on_batch, on_warning=on_warning,
        )  # fmt: skip
        for batch in batches:
            if shadow is not None:
                shadow.add(batch)
            seen.add(batch, shadow.p[-1] if shadow is not None and shadow.p else None)
    label, probability, amount, ts, unlabelled = seen.arrays()
    if not len(label):
        raise InputError("no labelled records (`is_fraud`) to evaluate against")
    day = (ts // 86400).astype(np.int64)
    metrics = _metrics(label, probability, amount, day, opened.engine.thresholds)
    if shadow is None:
        return Evaluation(metrics, summary, opened.engine.thresholds.to_dict(), unlabelled)
    challenger = _metrics(label, seen.shadow(), amount, day, shadow.opened.engine.thresholds)
    return Evaluation(
        metrics, summary, opened.engine.thresholds.to_dict(), unlabelled,
        challenger, shadow.opened.engine.thresholds.to_dict(), shadow.comparison(),
    )  # fmt: skip


def _metrics(label, probability, amount, day, thresholds) -> Metrics:
    return evaluate(label, probability, amount, day, thresholds.review, thresholds.block)


def input_or_default(data: Path | None) -> Path:
    """`data`, or the shipped later sample (txns.jsonl, labelled) when None."""
    return sample_path(SCORE) if data is None else data


class Labelled:
    """The labelled records' label, score, amount and time, batch by batch."""

    def __init__(self) -> None:
        self.blocks: list[tuple[np.ndarray, ...]] = []
        self.shadows: list[np.ndarray] = []  # a challenger's scores of the same rows
        self.unlabelled = 0

    def add(self, scored: Scored | ScoredRecords, shadow: np.ndarray | None = None) -> None:
        data, n = scored.data, len(scored.p)
        label = data.get("is_fraud")
        if label is None:
            self.unlabelled += n
            return
        keep = pc.is_valid(label).to_numpy(zero_copy_only=False)
        self.unlabelled += n - int(keep.sum())
        numbers = [pc.filter(data[name], keep).to_numpy() for name in ("is_fraud", "amount", "ts")]
        self.blocks.append((numbers[0], scored.p[keep], numbers[1], numbers[2]))
        if shadow is not None:
            self.shadows.append(shadow[keep])

    def shadow(self) -> np.ndarray:
        return np.concatenate(self.shadows) if self.shadows else np.empty(0)

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
