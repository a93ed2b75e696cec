"""The record path over a batch of read items: each valid record through `Pipeline.decide`, in
order; a reject for each invalid record and each duplicate (the store's rule), in line order.
What `scoring.decided.scored_records` and a pipe's few lines (`scoring.piped`) run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from fraudcli.records.accounting import RunSummary
from fraudcli.records.duplicates import duplicate
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn
from fraudcli.scoring.interrupts import region
from fraudcli.scoring.output import ScoredRecords, output_record
from fraudcli.scoring.pipeline import DUPLICATE, Pipeline

if TYPE_CHECKING:
    from fraudcli.decision.engine import Decision


def decide_items(
    pipeline: Pipeline,
    batch: list[Item],
    rejects: RejectSink,
    summary: RunSummary,
    with_features: bool,
    strict: bool = False,
) -> ScoredRecords:
    """A batch of read items decided: outputs for the records, rejects for the rest. Ctrl-C
    and SIGTERM wait for the batch's end (`interrupts.region`), so the state never stops
    halfway through a record."""
    with region():
        txns = (item for _, _, item in batch if isinstance(item, Txn))
        return gathered(batch, map(pipeline.decide, txns), rejects, summary, with_features, strict)


def gathered(
    batch: list[Item],
    answers: Iterator[tuple[list[float] | None, Decision]],
    rejects: RejectSink,
    summary: RunSummary,
    with_features: bool,
    strict: bool = False,
) -> ScoredRecords:
    """`batch`'s outputs and rejects, in line order, given each record's (features, decision)
    in `answers`, taken in order as the records come (a DUPLICATE decision: a reject)."""
    txns, features, decisions, rows = [], [], [], []
    for line, raw, item in batch:
        if isinstance(item, Txn):
            values, decision = next(answers)
            if decision is not DUPLICATE:
                txns.append(item)
                features.append(values)
                decisions.append(decision)
                rows.append(output_record(item, decision, values if with_features else None))
                summary.decisions[decision.decision] += 1
                continue
            item = duplicate(line, raw, item)
        rejects.add(item, strict)
    return ScoredRecords(txns, features, decisions, rows)
