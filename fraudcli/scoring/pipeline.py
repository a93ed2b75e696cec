"""The record path: one transaction at a time, lookup -> model -> decision -> update.

This is the definition of every number `fraud` writes. Pipes and `replay` run it as it is; the
faster paths (the column path of `fraudcli.scoring.blocks`, the batch features of training) are
its vectorised twins, each proved equal to it by a test (see the README's "How it works").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreTimeout
from fraudcli.records.schema import RECORD_FIELDS, Txn

if TYPE_CHECKING:
    from fraudcli.decision.engine import Decision, DecisionEngine
    from fraudcli.features.store import FeatureStore
    from fraudcli.model.logreg import LinearScorer

ALLOW = "ALLOW"


@dataclass
class Pipeline:
    """A feature store, a model and a decision engine, driven one record at a time.

    `decide(txn)` looks up the features of `txn` in the state left by the records before it,
    scores them, applies thresholds, block lists and rules, and only then adds `txn` to the
    state: point in time, so a record never sees itself. A store that cannot answer in time
    (`StoreTimeout`, replay's injected faults) gives a rules-only decision, marked degraded.

    >>> features, decision = pipeline.decide(txn)  # doctest: +SKIP
    >>> decision.decision, decision.reasons  # doctest: +SKIP
    ('REVIEW', ('rule:impossible_travel', 'model:speed_from_prev_kmh=+1.62'))
    """

    store: FeatureStore
    scorer: LinearScorer
    engine: DecisionEngine

    def decide(self, txn: Txn) -> tuple[list[float], Decision]:
        """Features, probability and decision for `txn`; the state is updated after."""
        store = self.store
        if type(store) is InMemoryStore:  # lookup then update in one pass; judging reads no state
            features = store.observe(txn)
            return features, judge(self.scorer, self.engine, features, record_list(txn))
        try:
            features = store.lookup(txn)
        except StoreTimeout:
            return [], self.decide_degraded(txn)
        decision = judge(self.scorer, self.engine, features, record_list(txn))
        store.update(txn)
        return features, decision

    def observe(self, txn: Txn) -> list[float]:
        """`txn`'s features, then the state updated with it: `decide` without the judging, for
        callers that judge many records at once (`judge_many`). StoreTimeout as `lookup`."""
        store = self.store
        if type(store) is InMemoryStore:
            return store.observe(txn)
        features = store.lookup(txn)
        store.update(txn)
        return features

    def judge_many(self, txns: list[Txn], features: list[list[float]]) -> list[Decision]:
        """`judge` of each (txn, features) pair, the same decisions, computed over the batch: rows
        that are plainly ALLOW skip the one-record code (see `fraudcli.decision.batch_judge`)."""
        import numpy as np

        from fraudcli.decision.engine import DECISIONS, Decision

        X = np.array(features, dtype=np.float64).reshape(len(features), len(FEATURE_NAMES))
        scorer, engine = self.scorer, self.engine

        def one_by_one(rows):
            return [judge(scorer, engine, features[i], record_list(txns[i])) for i in rows]

        judged = self._batch.decide(X, _FieldsOf(txns), one_by_one)
        levels, scores, reasons = judged.severity.tolist(), judged.p.tolist(), judged.reasons
        return [
            Decision(DECISIONS[levels[i]], scores[i], reasons.get(i, ())) for i in range(len(X))
        ]

    @cached_property
    def _batch(self):
        from fraudcli.decision.batch_judge import BatchJudge

        return BatchJudge(self.scorer, self.engine)

    def decide_degraded(self, txn: Txn) -> Decision:
        """The fallback when features cannot be had in time: rules on the record's own fields
        (marked degraded). The state is still updated, so later features count this txn."""
        decision = self.engine.decide_rules_only(record_values(txn))
        self.store.update(txn)
        return decision


def judge(scorer: LinearScorer, engine: DecisionEngine, features: list[float], record: list):
    """The decision from a record's features and fields (RECORD_FIELDS order): model score,
    thresholds, rules, reasons. What `Pipeline.decide` does between lookup and update."""
    probability = scorer.proba_one(features)
    values = _picker(engine.names)(features + record)
    decision = engine.decide(probability, values, None)
    if decision.decision != ALLOW:  # explain what is flagged; ALLOW needs no story
        contributions = zip(FEATURE_NAMES, scorer.contributions(features), strict=True)
        decision = engine.decide(probability, values, list(contributions))
    return decision


@lru_cache(maxsize=16)
def _picker(names: frozenset[str]) -> Callable[[list], dict]:
    """values (VALUE_NAMES order) -> {name: value} for `names` only: a dict of all 36 costs
    more than the rules that read it. A name listed twice (`amount`) takes its last value.
    A comprehension: dict(zip(...)) of the same pairs costs half as much again."""
    last = {name: i for i, name in enumerate(VALUE_NAMES) if name in names}
    pairs = tuple(last.items())
    return lambda row: {name: row[i] for name, i in pairs}


def record_list(txn: Txn) -> list:
    """The values of RECORD_FIELDS, in order (a list: cheaper than a dict per record)."""
    return [
        txn.transaction_id,
        txn.user_id,
        txn.amount,
        txn.merchant_id,
        txn.merchant_category,
        txn.country,
        txn.lat,
        txn.lon,
        txn.device_id,
        txn.channel,
    ]


class _FieldsOf:
    """Record fields of a list of txns as columns, in `VectorFlags`' conventions."""

    def __init__(self, txns: list[Txn]) -> None:
        self.txns = txns

    def __call__(self, name: str):
        import numpy as np

        values = [getattr(txn, name) for txn in self.txns]
        if name in ("amount", "lat", "lon"):
            return np.array(values, dtype=np.float64)  # None becomes NaN
        return np.array(values, dtype=object)


def record_values(txn: Txn) -> dict:
    """The record's own fields, as rules see them (labels are never visible to rules)."""
    return dict(zip(RECORD_FIELDS, record_list(txn), strict=True))


# `amount` is both a feature and a field; the field comes last and is the same number.
VALUE_NAMES = FEATURE_NAMES + RECORD_FIELDS
