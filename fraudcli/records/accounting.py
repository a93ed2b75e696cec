"""The `read = written + rejected` accounting of a run: every record read is written or rejected."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fraudcli.records.duplicates import RecordDuplicates
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn

T = TypeVar("T")


@dataclass
class RunSummary:
    """What a run read, wrote and rejected: read == written + rejected, always; or, when the
    reader of the output went away (`fraud score | head`), read == written + rejected +
    not_written, the run having stopped there (`output_closed`)."""

    read: int = 0
    written: int = 0
    rejected: int = 0
    decisions: Counter = field(default_factory=Counter)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    not_written: int = 0
    output_closed: bool = False
    shadow: Any = None  # a challenger's comparison (`fraudcli.scoring.shadow`), if any
    warnings: list[str] = field(default_factory=list)  # said on stderr as the run went
    engine: Any = None  # the Dask engine's partitions and shuffle sizes, when it ran

    def closed_early(self, written: int, rejects: RejectSink) -> None:
        """The output's reader went away after `written` rows: count what was decided and not
        written, so the sum still holds."""
        self.output_closed = True
        self.rejected, self.reject_reasons = rejects.count, dict(rejects.reasons)
        decided = sum(self.decisions.values())  # batches decided but not yet counted as read
        self.read = max(self.read, written + self.rejected, decided + self.rejected)
        self.written = written
        self.not_written = self.read - self.written - self.rejected

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return (
            {
                "read": self.read,
                "written": self.written,
                "rejected": self.rejected,
                "decisions": dict(self.decisions),
                "reject_reasons": self.reject_reasons,
                "seconds": round(self.seconds, 3),
            }
            | (
                {"not_written": self.not_written, "output_closed": True}
                if self.output_closed
                else {}
            )
            | ({"challenger": self.shadow.to_dict()} if self.shadow is not None else {})
            | ({"warnings": list(self.warnings)} if self.warnings else {})
            | ({"dask": self.engine.to_dict()} if self.engine is not None else {})
        )


def tallied(
    batches: Iterable[list[Item]],
    rejects: RejectSink,
    summary: RunSummary,
    *,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[list[Txn]]:
    """The valid transactions of each batch, counted into `summary` as they are consumed:
    read, written (= valid), rejected with reasons, and the time taken."""
    valid = ((txns, n_read, len(txns)) for n_read, txns in accepted(batches, rejects, strict))
    return counted(valid, rejects, summary, on_batch)


def counted(
    done: Iterable[tuple[T, int, int]],
    rejects: RejectSink,
    summary: RunSummary,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[T]:
    """Each item of `done` (an item, the records read for it, the rows written), counted into
    `summary` once it has been consumed; then the rejects with their reasons, and the time
    taken from the first item asked for."""
    started = time.perf_counter()
    for item, n_read, written in done:
        yield item
        summary.read += n_read
        summary.written += written
        if on_batch is not None:
            on_batch(n_read)
    summary.rejected, summary.reject_reasons = rejects.count, dict(rejects.reasons)
    summary.seconds = time.perf_counter() - started


def accepted(
    batches: Iterable[list[Item]],
    rejects: RejectSink,
    strict: bool = False,
    ids: IdRegistry | None = None,
) -> Iterator[tuple[int, list[Txn]]]:
    """(records read, valid transactions) per batch; every other record goes to `rejects`,
    a duplicate by the rule of `ids` (`fraudcli.records.id_registry`) too, when given.

    Under `strict`, the first reject raises StrictRejectError after being recorded.
    """
    dedupe = RecordDuplicates(ids) if ids is not None else None
    for batch in batches:
        txns = []
        for line, raw, item in batch:
            if dedupe is not None and isinstance(item, Txn):
                item = dedupe.check(line, raw, item)
            if isinstance(item, Txn):
                txns.append(item)
                continue
            rejects.add(item, strict)
        yield len(batch), txns
