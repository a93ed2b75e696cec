"""Champion and challenger: a second bundle scored on the same records, beside the first.

The challenger (`--shadow DIR`) judges the champion's features (the live state's: one feature
store, so both see the very same inputs) with its own model and thresholds and the same rules
and block lists, through `BatchJudge`, which is exact against the record path's `judge`. Each
output row gains `shadow_probability` and `shadow_decision`; `Shadow` counts both models'
decisions and how often they agree, and keeps the challenger's scores for `fraud evaluate`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fraudcli.decision.batch_judge import BatchJudge
from fraudcli.decision.engine import DECISIONS
from fraudcli.errors import BundleError
from fraudcli.records.schema import RECORD_FIELDS
from fraudcli.scoring.blocks import Fields, python_values
from fraudcli.scoring.load import OpenBundle
from fraudcli.scoring.output import Scored, ScoredRecords
from fraudcli.scoring.pipeline import judge

SHADOW_KEYS = ("shadow_probability", "shadow_decision")


@dataclass(frozen=True)
class ShadowComparison:
    """Both models on the same records: decisions of each, and how often they agree."""

    n: int
    champion: dict[str, int]
    challenger: dict[str, int]
    agreed: int
    challenger_bundle: str

    @property
    def agreement(self) -> float:
        return self.agreed / self.n if self.n else float("nan")

    def rate(self, counts: dict[str, int], decision: str) -> float:
        return counts.get(decision, 0) / self.n if self.n else float("nan")

    def to_dict(self) -> dict:
        return {
            "challenger_bundle": self.challenger_bundle,
            "records": self.n,
            "agreement": self.agreement if self.n else None,
            "champion_decisions": self.champion,
            "challenger_decisions": self.challenger,
        }


class Shadow:
    """The challenger `opened` beside `champion`; `add(batch)` decides a batch and writes its
    two fields into the batch's output rows."""

    def __init__(self, opened: OpenBundle, champion: OpenBundle) -> None:
        if opened.store_config != champion.store_config:
            raise BundleError(
                "the challenger was trained with other feature-store settings (label delay, "
                "lateness): its features would not be the champion's; retrain it alike"
            )
        self.opened, self.batch = opened, BatchJudge(opened.model, opened.engine)
        self.champion: Counter = Counter()
        self.challenger: Counter = Counter()
        self.agreed = 0
        self.p: list[np.ndarray] = []  # the challenger's scores, batch by batch

    def add(self, batch: Scored | ScoredRecords) -> None:
        data, X = batch.data, batch.X
        if not len(X):
            return
        judged = self.batch.decide(X, Fields(data), lambda rows: self._judge(X, data, rows))
        mine = [DECISIONS[level] for level in judged.severity.tolist()]
        theirs = batch.decisions()
        self.champion.update(theirs)
        self.challenger.update(mine)
        self.agreed += sum(a == b for a, b in zip(mine, theirs, strict=True))
        self.p.append(judged.p)
        _write(batch, judged.rounded(), mine)

    def _judge(self, X: np.ndarray, data, rows: np.ndarray):
        take = pa.array(rows, pa.int64())
        fields = [python_values(data, name, take, len(rows)) for name in RECORD_FIELDS]
        model, engine = self.opened.model, self.opened.engine
        for j, features in enumerate(X[rows].tolist()):
            yield judge(model, engine, features, [column[j] for column in fields])

    def comparison(self) -> ShadowComparison:
        n = sum(self.champion.values())
        bundle = self.opened.bundle.info.id if self.opened.bundle.info else ""
        return ShadowComparison(n, dict(self.champion), dict(self.challenger), self.agreed, bundle)

    def scores(self) -> np.ndarray:
        return np.concatenate(self.p) if self.p else np.empty(0)


def _write(batch: Scored | ScoredRecords, p: np.ndarray, decisions: list[str]) -> None:
    """The two fields at the end of every output row (after any pass-through field)."""
    values = dict(zip(SHADOW_KEYS, (p.tolist(), decisions), strict=True))
    if isinstance(batch, Scored):
        for key, column in values.items():
            batch.table = batch.table.append_column(key, pa.array(column))
    for i, row in batch.rows.items():
        for key, column in values.items():
            row[key] = column[i]
