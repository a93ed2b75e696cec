"""Decisions for a batch of feature rows, equal to `fraudcli.scoring.pipeline.judge` row by row.

The model scores the whole matrix at once. Then each row is one of three kinds:
- *plain*: no block list or rule fires (`VectorFlags`, exact) and the score is below the review
  threshold: ALLOW with no reasons, as `judge` gives it;
- *score only*: no block list or rule fires and the score is at or above a threshold (or its
  expected loss, p x amount, above a cost): REVIEW or BLOCK with the threshold's and the cost's
  reasons and the top model contributions, computed here with the same floating-point operations
  as the scorer's `contributions` and `model_reasons`;
- *exact*: everything else (a rule or block list fires, a score within 1e-9 of a threshold, an
  expected loss within a relative 1e-9 of a cost, a score whose rounding to 6 places is a
  near-tie, or a row the caller asks for): `judge` itself.
The vectorised score agrees with `proba_one` to ~1e-15, far inside those margins, so every row's
decision, reasons and rounded probability are the record path's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fraudcli.decision.engine import (
    CONTRIBUTION_FLOOR,
    DECISIONS,
    TOP_CONTRIBUTIONS,
    DecisionEngine,
)
from fraudcli.decision.vector import VectorFlags
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.model.scorer import Scorer

MARGIN = 1e-9
FEATURE_INDEX = {name: j for j, name in enumerate(FEATURE_NAMES)}
_REVIEW, _BLOCK = DECISIONS.index("REVIEW"), DECISIONS.index("BLOCK")


@dataclass
class Judged:
    """`p`: the scores (`proba_one`'s own on `exact` rows); `severity`: index in DECISIONS;
    `reasons`: row -> reasons, for rows that have any; `exact`: the rows `judge` decided."""

    p: np.ndarray
    severity: np.ndarray
    reasons: dict[int, tuple[str, ...]]
    exact: np.ndarray

    def rounded(self) -> np.ndarray:
        """The scores to 6 places, as `output_record` rounds them."""
        out = np.round(self.p, 6)  # = round(p, 6) but at near-ties, which are exact rows
        out[self.exact] = [round(v, 6) for v in self.p[self.exact].tolist()]
        return out


class BatchJudge:
    def __init__(self, scorer: Scorer, engine: DecisionEngine) -> None:
        self.scorer, self.engine = scorer, engine
        self.flags = VectorFlags(engine)

    def decide(
        self,
        X: np.ndarray,
        field: Callable[[str], np.ndarray],
        judge_rows: Callable[[np.ndarray], list],
        also_exact: np.ndarray | None = None,
    ) -> Judged:
        """`field(name)`: a record field's column (`VectorFlags` conventions);
        `judge_rows(rows)`: `judge`'s Decision for each of those rows; `also_exact`: rows the
        caller wants decided by `judge` whatever they are."""
        p = self.scorer.proba(X)

        def column(name: str) -> np.ndarray:
            j = FEATURE_INDEX.get(name)
            return X[:, j] if j is not None else field(name)

        exact = self.flags.mask(column, len(X))
        t = self.engine.thresholds
        review, block = (np.inf if v is None else v for v in (t.review, t.block))
        exact |= (np.abs(p - review) < MARGIN) | (np.abs(p - block) < MARGIN)
        scaled = p * 1e6
        exact |= np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
        if also_exact is not None:
            exact[also_exact] = True
        by_score = np.where(p >= block, _BLOCK, np.where(p >= review, _REVIEW, 0)).astype(np.int8)
        severity = by_score.copy()
        by_loss = self._loss_levels(p, column("amount"), exact) if t.loss_policy else None
        if by_loss is not None:
            np.maximum(severity, by_loss, out=severity)
        severity[exact] = 0
        reasons = self._score_reasons(X, severity, by_score, by_loss)
        rows = np.flatnonzero(exact)
        for i, decision in zip(rows.tolist(), judge_rows(rows), strict=True):
            p[i] = decision.fraud_probability
            severity[i] = DECISIONS.index(decision.decision)
            if decision.reasons:
                reasons[i] = decision.reasons
        return Judged(p, severity, reasons, rows)

    def _loss_levels(self, p: np.ndarray, amount: np.ndarray, exact: np.ndarray) -> np.ndarray:
        """The loss policy's level per row (0, REVIEW, BLOCK); a near-tie goes to `exact`."""
        t = self.engine.thresholds
        loss = p * amount  # the record path's own product, float for float
        levels = np.zeros(len(p), dtype=np.int8)
        for cost, level in ((t.review_cost, _REVIEW), (t.block_cost, _BLOCK)):
            if cost is not None:
                exact |= np.abs(loss - cost) <= MARGIN * cost
                levels[loss > cost] = level
        return levels

    def _score_reasons(
        self,
        X: np.ndarray,
        severity: np.ndarray,
        by_score: np.ndarray,
        by_loss: np.ndarray | None,
    ) -> dict[int, tuple[str, ...]]:
        """The reasons of the score-only rows: the threshold crossed, the cost exceeded, then
        `model_reasons`."""
        rows = np.flatnonzero(severity)
        contributions = self.scorer.contribution_matrix(X[rows])  # as `contributions` does
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :TOP_CONTRIBUTIONS]
        top = np.take_along_axis(contributions, order, axis=1)
        loss = by_loss[rows].tolist() if by_loss is not None else [0] * len(rows)
        out = {}
        for i, score_level, loss_level, names, values in zip(
            rows.tolist(),
            by_score[rows].tolist(),
            loss,
            order.tolist(),
            top.tolist(),
            strict=True,
        ):
            why = [_SCORE_REASON[score_level]] if score_level else []
            if loss_level:
                why.append(_LOSS_REASON[loss_level])
            why += [
                f"model:{FEATURE_NAMES[j]}={v:+.2f}"
                for j, v in zip(names, values, strict=True)
                if v > CONTRIBUTION_FLOOR
            ]
            out[i] = tuple(why)
        return out


_SCORE_REASON = {_REVIEW: "score>=review", _BLOCK: "score>=block"}
_LOSS_REASON = {_REVIEW: "expected_loss>review_cost", _BLOCK: "expected_loss>block_cost"}
