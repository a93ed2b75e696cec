"""The record path over a batch of read items when the store is shared (Redis): the batch's
records through `store.observe_many` (K per round trip, each one atomic, in order), then
judged; the same outputs and rejects, in the same order, as `scoring.items.decide_items`
gives one record at a time (the features are the store's `observe`, the decisions `judge`'s:
`Pipeline.judge_many` is proved equal to it)."""

from __future__ import annotations

from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn
from fraudcli.scoring.interrupts import region
from fraudcli.scoring.items import gathered
from fraudcli.scoring.output import ScoredRecords
from fraudcli.scoring.pipeline import DUPLICATE, Pipeline, judge, record_list

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
    judged = judged_batch(pipeline, txns, features)
    answers = ((f, DUPLICATE if f is None else d) for f, d in zip(features, judged, strict=True))
    return gathered(batch, answers, rejects, summary, with_features, strict)


def judged_batch(pipeline: Pipeline, txns: list[Txn], features: list) -> list:
    """The decision of each txn from its features (None: a duplicate, None again): together
    from `JUDGE_MIN` records on, else one by one."""
    if len(txns) >= JUDGE_MIN:
        return pipeline.judge_many(txns, features)
    scorer, engine = pipeline.scorer, pipeline.engine
    return [
        None if f is None else judge(scorer, engine, f, record_list(txn))
        for txn, f in zip(txns, features, strict=True)
    ]
