"""Every record of an input decided, a batch at a time: the one stream `score`, `evaluate` and
`drift-report` consume.

`decided` chooses the path: a file (or stdin redirected from a file) goes through the column
path (`fraudcli.scoring.blocks`), blocks of records decided over columns; a pipe goes through
the record path (`Pipeline.decide`), so each piped record is decided as soon as its line
arrives. Both yield the same output rows (`tests/scoring/test_blocks.py` proves it), counted
into one `RunSummary` (`read = written + rejected`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fraudcli.errors import StrictRejectError
from fraudcli.io.blocks import column_blocks
from fraudcli.io.read import read_batches
from fraudcli.records.accounting import RunSummary
from fraudcli.records.duplicates import duplicate
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn
from fraudcli.scoring.blocks import scored_blocks
from fraudcli.scoring.interrupts import region
from fraudcli.scoring.load import OpenBundle
from fraudcli.scoring.output import Scored, ScoredRecords, output_record
from fraudcli.scoring.pipeline import DUPLICATE, Pipeline


def decided(
    data: Path | None,
    opened: OpenBundle,
    rejects: RejectSink,
    summary: RunSummary,
    *,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
    record_path: bool = False,
) -> Iterator[Scored | ScoredRecords]:
    """The decisions of every record of `data` (JSONL on stdin when None), batch by batch.

    The input is opened (and a missing file refused) before this returns; `record_path`
    forces the record path, e.g. for a store that is not the bundle's."""
    columns = opened.config.columns
    blocks = None if record_path else column_blocks(data, columns)
    if blocks is not None:
        scorer = opened.column_scorer(with_features)
        return scored_blocks(
            read_ahead(blocks), scorer, rejects, summary, strict=strict, on_batch=on_batch
        )
    batches = read_batches(data, columns)
    return scored_records(
        batches, opened.pipeline, rejects, summary,
        with_features=with_features, strict=strict, on_batch=on_batch,
    )  # fmt: skip


def scored_records(
    batches: Iterable[list[Item]],
    pipeline: Pipeline,
    rejects: RejectSink,
    summary: RunSummary,
    *,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[ScoredRecords]:
    """The record path: each valid record of each batch through `pipeline.decide`, in order;
    invalid records and duplicates (the store's rule) go to `rejects`, in line order. Counted
    into `summary` as `tallied` counts."""
    started = time.perf_counter()
    for batch in batches:
        scored = decide_items(pipeline, batch, rejects, summary, with_features, strict)
        scored.state = pipeline.store.snapshot  # the state after it, until the next batch
        yield scored
        summary.read += len(batch)
        summary.written += len(scored.rows)
        if on_batch is not None:
            on_batch(len(batch))
    summary.rejected, summary.reject_reasons = rejects.count, dict(rejects.reasons)
    summary.seconds = time.perf_counter() - started


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
            rejects.add(item)
            if strict:
                raise StrictRejectError(f"line {item.line}: {item.reason} (--strict)")
    return ScoredRecords(txns, features, decisions, rows)


def read_ahead(blocks: Iterator) -> Iterator:
    """`blocks`, each read (and parsed) in a thread while the one before is scored: Arrow's
    reading and NumPy's kernels let go of the GIL, so the two overlap on two cores."""
    with ThreadPoolExecutor(1, thread_name_prefix="read") as ahead:
        job = ahead.submit(next, blocks, None)
        while (block := job.result()) is not None:
            job = ahead.submit(next, blocks, None)
            yield block
