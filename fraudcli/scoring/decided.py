"""Every record of an input decided, a batch at a time: the one stream `score`, `evaluate` and
`drift-report` consume.

`decided` chooses the path: a file (or stdin redirected from a file) goes through the column
path (`fraudcli.scoring.blocks`), blocks of records decided over columns; a pipe goes through
the record path (`Pipeline.decide`), so each piped record is decided as soon as its line
arrives. Both yield the same output rows (`tests/scoring/test_blocks.py` proves it), counted
into one `RunSummary` (`read = written + rejected`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from fraudcli.features.store import InMemoryStore
from fraudcli.io.blocks import column_blocks
from fraudcli.io.read import read_batches
from fraudcli.records.accounting import RunSummary, counted
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn
from fraudcli.records.timestamps import format_timestamp
from fraudcli.scoring.items import decide_items
from fraudcli.scoring.load import OpenBundle
from fraudcli.scoring.output import Scored, ScoredRecords
from fraudcli.scoring.pipeline import Pipeline
from fraudcli.scoring.shared_items import decide_items_shared


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
    on_warning: Callable[[str], None] | None = None,
    on_early: Callable[[float, float], None] | None = None,
) -> Iterator[Scored | ScoredRecords]:
    """The decisions of every record of `data` (JSONL on stdin when None), batch by batch.

    The input is opened (and a missing file refused) before this returns; `record_path`
    forces the record path, e.g. for a store that is not the bundle's. Data whose first record
    is older than the state's newest by more than the store's lateness (scoring the training
    data again, say) is a mistake more often than not: `on_early(first, state_end)` is called
    as it is read, by default adding `early_start`'s warning to `summary` and `on_warning`."""
    columns = opened.config.columns
    if on_early is None:
        on_early = _warner(summary, on_warning)
    watch = partial(watched, end=opened.state_end(), lateness=opened.store_config.lateness)
    blocks = None if record_path else column_blocks(data, columns)
    if blocks is not None:  # (the column path's modules load NumPy, Arrow and pandas: here)
        from fraudcli.scoring.blocks import scored_blocks

        scorer = opened.column_scorer(with_features)
        blocks = watch(blocks, _block_start, on_early)
        return scored_blocks(
            read_ahead(blocks), scorer, rejects, summary, strict=strict, on_batch=on_batch
        )
    if (data is None or str(data) == "-") and isinstance(opened.pipeline.store, InMemoryStore):
        from fraudcli.scoring.piped import backlog_waiting, decided_pipe, piped_batches

        stream = getattr(sys.stdin, "buffer", sys.stdin)
        if backlog_waiting(stream):  # (`cat FILE |`: loaded before the run's clock starts)
            import fraudcli.io.jsonl_blocks  # noqa: F401
            import fraudcli.scoring.blocks  # noqa: F401
        arrived = watch(piped_batches(stream, columns), _batch_start, on_early)
        return decided_pipe(
            read_ahead(arrived), opened, rejects, summary,
            with_features=with_features, strict=strict, on_batch=on_batch,
        )  # fmt: skip
    batches = watch(read_batches(data, columns), _batch_start, on_early)
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
    """The record path: each valid record of each batch through `pipeline.decide`, in order
    (a shared store's `observe_many` for the batch: `fraudcli.scoring.shared_items`);
    invalid records and duplicates (the store's rule) go to `rejects`, in line order. Counted
    into `summary` as `tallied` counts."""

    items = decide_items_shared if hasattr(pipeline.store, "observe_many") else decide_items

    def decide(batch: list[Item]) -> tuple[ScoredRecords, int, int]:
        scored = items(pipeline, batch, rejects, summary, with_features, strict)
        scored.state = pipeline.store.snapshot  # the state after it, until the next batch
        return scored, len(batch), len(scored.rows)

    return counted(map(decide, batches), rejects, summary, on_batch)


def watched(items: Iterable, first_of, on_early, *, end: float, lateness: float) -> Iterator:
    """`items` (blocks or batches) as they are, `on_early(first, end)` called before the first
    one with a record if that record's time `first` is more than `lateness` before `end`."""
    items = iter(items)
    for item in items:
        first = first_of(item)
        if first is not None and first < end - lateness:
            on_early(first, end)
        yield item
        if first is not None:
            break
    yield from items


def early_start(first: float, end: float) -> str:
    """What to say when the data starts before the feature state ends."""
    return (
        f"the data starts at {format_timestamp(first)}, before the feature state it continues "
        f"ends ({format_timestamp(end)}): its records are computed as arriving "
        "after everything in that state, record by record (slower). To score data the model "
        "was trained on, or older data, on its own, use --fresh-state"
    )


def _warner(summary: RunSummary, on_warning) -> Callable[[float, float], None]:
    def warn(first: float, end: float) -> None:
        text = early_start(first, end)
        summary.warnings.append(text)
        if on_warning is not None:
            on_warning(text)

    return warn


def _block_start(block) -> float | None:
    return block.data["ts"][0].as_py() if len(block.lines) else None


def _batch_start(items) -> float | None:
    """The first record's time of the record path's items, or of a pipe's block."""
    if not isinstance(items, list):
        return _block_start(items.block)
    return next((item.ts for _, _, item in items if isinstance(item, Txn)), None)


def read_ahead(blocks: Iterator) -> Iterator:
    """`blocks`, each read (and parsed) in a thread while the one before is scored: Arrow's
    reading and NumPy's kernels let go of the GIL, so the two overlap on two cores. (A pipe's
    next lines are taken as soon as the thread is free: it never waits for more.)"""
    with ThreadPoolExecutor(1, thread_name_prefix="read") as ahead:
        job = ahead.submit(next, blocks, None)
        while (block := job.result()) is not None:
            job = ahead.submit(next, blocks, None)
            yield block
