"""Evaluation metrics and the threshold policy, in plain NumPy.

`y` is 0/1 (1 = fraud) and `score` a fraud probability, both 1-D. An undefined number (AUC
with one class, precision with nothing flagged) is NaN, never a warning or an exception;
`Metrics.to_dict` writes it as null so it fits strict JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy.stats import rankdata

from fraudcli.model.calibration import (
    ReliabilityBin,
    brier,
    constant_brier,
    expected_calibration_error,
    reliability,
)

TOP_K = (10, 50, 100)
MIN_BLOCK_FLAGGED = 5


def _check(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    score = np.asarray(score, dtype=np.float64)
    if y.ndim != 1 or score.ndim != 1 or y.shape != score.shape:
        raise ValueError(f"y and score must be 1-D of equal length; got {y.shape}, {score.shape}")
    if not np.all(np.isfinite(score)):
        raise ValueError("score contains NaN or infinite values")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must be 0 (legitimate) or 1 (fraud)")
    return y.astype(np.int64), score


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve; a tie counts one half (as scikit-learn). NaN for one class."""
    y, score = _check(y, score)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    # Mann-Whitney U with mid-ranks: P(score_fraud > score_legit) + 0.5 P(equal)
    rank_sum = float(rankdata(score)[y == 1].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _pr_steps(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct thresholds descending, true positives, flagged) at each threshold."""
    order = np.argsort(-score, kind="stable")
    s, hits = score[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    return s[last_of_tie], np.cumsum(hits)[last_of_tie], last_of_tie + 1


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """sum_n (R_n - R_{n-1}) P_n over distinct thresholds (scikit-learn's definition,
    no interpolation). NaN when there is no fraud."""
    y, score = _check(y, score)
    if y.sum() == 0:
        return math.nan
    _, tp, flagged = _pr_steps(y, score)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * (tp / flagged)))


def precision_recall_at(
    y: np.ndarray, score: np.ndarray, threshold: float
) -> tuple[float, float, int]:
    """(precision, recall, number flagged) when flagging score >= threshold."""
    y, score = _check(y, score)
    flagged = score >= threshold
    n_flagged, tp, n_pos = int(flagged.sum()), int(y[flagged].sum()), int(y.sum())
    precision = tp / n_flagged if n_flagged else math.nan
    recall = tp / n_pos if n_pos else math.nan
    return precision, recall, n_flagged


def top_k_precision_per_day(y: np.ndarray, score: np.ndarray, day: np.ndarray, k: int) -> float:
    """Share of fraud among the k highest scores of each day, pooled over days (a day with
    fewer than k records gives all it has). Ties within a day break by input order."""
    y, score = _check(y, score)
    day = np.asarray(day).reshape(-1)
    if day.shape != y.shape:
        raise ValueError("day must give one day number per row")
    if len(y) == 0 or k < 1:
        return math.nan
    order = np.lexsort((-score, day))  # by day, then by score descending (stable)
    sorted_day = day[order]
    starts = np.r_[0, np.flatnonzero(sorted_day[1:] != sorted_day[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    chosen = order[np.arange(len(order)) - group_start < k]
    return float(y[chosen].mean())


def top_k_card_precision_per_day(
    y: np.ndarray, score: np.ndarray, day: np.ndarray, card: np.ndarray, k: int
) -> float:
    """Share of compromised cards among the k cards of each day with the highest score, pooled
    over days: a card's score on a day is its highest, and it counts as compromised when any
    of its transactions that day is fraud (what an analyst checking k cards a day finds)."""
    y, score = _check(y, score)
    if len(y) == 0 or k < 1:
        return math.nan
    day = np.asarray(day).reshape(-1)
    _, card_codes = np.unique(np.asarray(card), return_inverse=True)
    pair = day.astype(np.int64) * (int(card_codes.max()) + 1) + card_codes
    pairs, index = np.unique(pair, return_inverse=True)
    best = np.full(len(pairs), -np.inf)
    np.maximum.at(best, index, score)
    hit = np.zeros(len(pairs), dtype=np.int64)
    np.maximum.at(hit, index, y)
    pair_day = pairs // (int(card_codes.max()) + 1)
    return top_k_precision_per_day(hit, best, pair_day, k)


def amount_caught_share(
    y: np.ndarray, score: np.ndarray, amount: np.ndarray, threshold: float
) -> float:
    """Share of the fraud amount on records with score >= threshold (NaN without fraud)."""
    y, score = _check(y, score)
    amount = np.asarray(amount, dtype=np.float64).reshape(-1)
    fraud = y == 1
    total = float(amount[fraud].sum())
    if total <= 0.0:
        return math.nan
    return float(amount[fraud & (score >= threshold)].sum()) / total


def choose_thresholds(
    y: np.ndarray,
    score: np.ndarray,
    day: np.ndarray,
    *,
    review_budget_per_day: int,
    block_precision: float,
    min_block_flagged: int = MIN_BLOCK_FLAGGED,
) -> tuple[float, float | None]:
    """(review, block) thresholds from a validation slice; block None means "off".

    REVIEW: the lowest score at which the alerts (score >= it) do not exceed
    `review_budget_per_day` times the number of days present, i.e. that many alerts per day
    on average. If even the top score's ties exceed the budget, review = the top score.
    BLOCK: the lowest score at which precision >= `block_precision` with at least
    `min_block_flagged` records flagged; None when no score gets there: the model then blocks
    nothing (blocking is left to rules and block lists). Always block >= review.
    """
    y, score = _check(y, score)
    if len(y) == 0:
        raise ValueError("no validation records to choose thresholds on")
    thresholds, tp, flagged = _pr_steps(y, score)
    budget = review_budget_per_day * len(np.unique(np.asarray(day)))
    within = flagged <= budget
    review = float(thresholds[within][-1] if within.any() else thresholds[0])
    precise = (tp / flagged >= block_precision) & (flagged >= min_block_flagged)
    if not precise.any():
        return review, None
    return review, max(float(thresholds[precise][-1]), review)


def carry_thresholds(
    old_score: np.ndarray, new_score: np.ndarray, thresholds: tuple[float | None, float | None]
) -> tuple[float | None, float | None]:
    """Thresholds for another model of the same rows that flag as many of them: each
    threshold becomes the new model's score at the same rank (the alert budget and the
    number of blocks carry over; an "off" BLOCK stays off). No label is used, so the new
    model may have learnt from these rows."""
    old_sorted = np.sort(np.asarray(old_score, dtype=np.float64))[::-1]
    new_sorted = np.sort(np.asarray(new_score, dtype=np.float64))[::-1]

    def carried(threshold: float | None) -> float | None:
        if threshold is None:
            return None
        flagged = int(np.searchsorted(-old_sorted, -threshold, side="right"))
        return float(new_sorted[max(flagged, 1) - 1])

    review, block = (carried(t) for t in thresholds)
    if review is None or block is None:
        return review, block
    return review, max(block, review)


@dataclass(frozen=True)
class Metrics:
    """What `fraud train` and `fraud evaluate` report about a model on labelled data."""

    n: int
    n_fraud: int
    auc_roc: float
    average_precision: float
    review_threshold: float | None  # None: "off", the model flags nothing at this level
    block_threshold: float | None
    precision_at_review: float
    recall_at_review: float
    n_flagged_review: int
    precision_at_block: float
    recall_at_block: float
    n_flagged_block: int
    top_k_precision_per_day: tuple[tuple[int, float], ...]  # ((k, precision), ...)
    amount_caught_review: float
    amount_caught_block: float
    mean_probability: float = math.nan
    brier: float = math.nan
    brier_constant: float = math.nan  # the observed rate predicted for every row
    ece: float = math.nan  # 10 equal-count bins
    reliability: tuple[ReliabilityBin, ...] = ()

    @property
    def fraud_rate(self) -> float:
        return self.n_fraud / self.n if self.n else math.nan

    def to_dict(self) -> dict:
        """Plain JSON types; NaN becomes None (strict JSON has no NaN), and an "off" BLOCK
        threshold the string "off"."""
        out: dict = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "top_k_precision_per_day":
                value = {str(k): _json_float(p) for k, p in value}
            elif f.name == "reliability":
                value = [{k: _json_float(v) for k, v in b.to_dict().items()} for b in value]
            elif f.name.endswith("_threshold") and value is None:
                value = OFF
            elif isinstance(value, float):
                value = _json_float(value)
            out[f.name] = value
        return out


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else value


OFF = "off"  # how an off BLOCK threshold is written (in the bundle, fraud.toml and JSON)


def evaluate(
    y: np.ndarray,
    score: np.ndarray,
    amount: np.ndarray,
    day: np.ndarray,
    review_threshold: float | None,
    block_threshold: float | None,
    top_k: tuple[int, ...] = TOP_K,
) -> Metrics:
    """All report metrics of `score` against labels `y` at the two thresholds (None: off,
    nothing flagged)."""
    y, score = _check(y, score)
    review, block = (math.inf if t is None else t for t in (review_threshold, block_threshold))
    at_review = precision_recall_at(y, score, review)
    at_block = precision_recall_at(y, score, block)
    return Metrics(
        n=len(y),
        n_fraud=int(y.sum()),
        auc_roc=roc_auc(y, score),
        average_precision=average_precision(y, score),
        review_threshold=None if review_threshold is None else float(review_threshold),
        block_threshold=None if block_threshold is None else float(block_threshold),
        precision_at_review=at_review[0],
        recall_at_review=at_review[1],
        n_flagged_review=at_review[2],
        precision_at_block=at_block[0],
        recall_at_block=at_block[1],
        n_flagged_block=at_block[2],
        top_k_precision_per_day=tuple(
            (k, top_k_precision_per_day(y, score, day, k)) for k in top_k
        ),
        amount_caught_review=amount_caught_share(y, score, amount, review),
        amount_caught_block=amount_caught_share(y, score, amount, block),
        mean_probability=float(score.mean()) if len(score) else math.nan,
        brier=brier(y, score),
        brier_constant=constant_brier(y),
        ece=expected_calibration_error(y, score),
        reliability=reliability(y, score),
    )
