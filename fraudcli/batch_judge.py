"""Decisions for a batch of feature rows, equal to `pipeline.judge` row by row.

The model scores the whole matrix at once. A row is *plainly ALLOW* when no block list or rule
can fire (`VectorFlags`, exact), its score is below the review threshold by a margin, and
rounding its score to 6 places is not a near-tie; it gets ALLOW with no reasons, as `judge`
would give it. Every other row goes through `judge` itself, so its decision, reasons and
probability are the record path's to the bit. On the shipped model that is 1-2% of rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fraudcli.decision.engine import DecisionEngine
from fraudcli.decision.vector import VectorFlags
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.model.logreg import LinearScorer

MARGIN = 1e-9  # the vectorised score agrees with `proba_one` to ~1e-15; this is far wider
FEATURE_INDEX = {name: j for j, name in enumerate(FEATURE_NAMES)}


class BatchJudge:
    def __init__(self, scorer: LinearScorer, engine: DecisionEngine) -> None:
        self.scorer, self.engine = scorer, engine
        self.flags = VectorFlags(engine)

    def plain_rows(
        self, X: np.ndarray, field: Callable[[str], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, indices of the rows that need `judge`). `field(name)` gives a record
        field's column in `VectorFlags`' conventions."""
        p = self.scorer.proba(X)

        def column(name: str) -> np.ndarray:
            j = FEATURE_INDEX.get(name)
            return X[:, j] if j is not None else field(name)

        needs = self.flags.mask(column, len(X))
        needs |= p >= self.engine.thresholds.review - MARGIN
        scaled = p * 1e6
        needs |= np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6  # rounding may be a tie
        return p, np.flatnonzero(needs)
