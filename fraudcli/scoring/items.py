"""The record path over a batch of read items: each valid record through `Pipeline.decide`, in
order; a reject for each invalid record and each duplicate (the store's rule), in line order.
What `scoring.decided.scored_records` and a pipe's few lines (`scoring.piped`) run."""

from __future__ import annotations

from fraudcli.records.accounting import RunSummary
from fraudcli.records.duplicates import duplicate
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn
from fraudcli.scoring.interrupts import region
from fraudcli.scoring.output import ScoredRecords, output_record
from fraudcli.scoring.pipeline import DUPLICATE, Pipeline


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
    decide = pipeline.decide
    txns, features, decisions, rows = [], [], [], []
    with region():
        for line, raw, item in batch:
            if isinstance(item, Txn):
                values, decision = decide(item)
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
