"""The record path over a batch of read items when the store is shared (Redis): the batch's
records through `store.observe_many` (K per round trip, each one atomic, in order), then
judged; the same outputs and rejects, in the same order, as `scoring.items.decide_items`
gives one record at a time (the features are the store's `observe`, the decisions `judge`'s:
`Pipeline.judge_many` is proved equal to it)."""

from __future__ import annotations

from fraudcli.records.accounting import RunSummary
from fraudcli.records.duplicates import duplicate
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn
from fraudcli.scoring.interrupts import region
from fraudcli.scoring.output import ScoredRecords, output_record
from fraudcli.scoring.pipeline import Pipeline, judge, record_list

JUDGE_MIN = 64  # from this many records, a batch is judged at once (`Pipeline.judge_many`)


def decide_items_shared(
    pipeline: Pipeline,
    batch: list[Item],
    rejects: RejectSink,
    summary: RunSummary,
    with_features: bool,
    strict: bool = False,
) -> ScoredRecords:
    """A batch of read items decided through a store with `observe_many`: outputs for the
    records, rejects for the rest and for duplicates. Ctrl-C and SIGTERM wait for the
    store's answers (`interrupts.region`): a record is never applied without its decision."""
    txns = [item for _, _, item in batch if isinstance(item, Txn)]
    with region():
        features = pipeline.store.observe_many(txns)
    decided = iter(zip(features, _judged(pipeline, txns, features), strict=True))
    kept, kept_features, decisions, rows = [], [], [], []
    for line, raw, item in batch:
        if isinstance(item, Txn):
            values, decision = next(decided)
            if values is not None:
                kept.append(item)
                kept_features.append(values)
                decisions.append(decision)
                rows.append(output_record(item, decision, values if with_features else None))
                summary.decisions[decision.decision] += 1
                continue
            item = duplicate(line, raw, item)
        rejects.add(item, strict)
    return ScoredRecords(kept, kept_features, decisions, rows)


def _judged(pipeline: Pipeline, txns: list[Txn], features: list) -> list:
    if len(txns) >= JUDGE_MIN:
        return pipeline.judge_many(txns, features)
    scorer, engine = pipeline.scorer, pipeline.engine
    return [
        None if f is None else judge(scorer, engine, f, record_list(txn))
        for txn, f in zip(txns, features, strict=True)
    ]
