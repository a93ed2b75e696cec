"""Running a graph on the cluster: the last stage's partitions as they finish (for the progress
bar), the rest gathered after, and what the shuffles did (partition sizes, the largest keys)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fraudcli.engines.dask.sides import Side
from fraudcli.records.rejects import Reject


@dataclass(frozen=True)
class PartDone:
    """What the last stage of one input partition did: rows read and written, its rejects (in
    row order), and, when scoring, its decisions by kind."""

    index: int
    read: int
    written: int
    rejects: list[Reject]
    decisions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ShuffleStats:
    """The partitions' sizes after the shuffles by user and by merchant: the largest partition
    and the largest key in it (a hot key makes a partition as large as its rows)."""

    partitions: int
    workers: int
    dashboard: str | None
    user_rows: int = 0
    largest_user: tuple[str | None, int] = (None, 0)
    merchant_rows: int = 0
    largest_merchant: tuple[str | None, int] = (None, 0)

    def to_dict(self) -> dict:
        return {
            "partitions": self.partitions,
            "workers": self.workers,
            "largest_user_partition_rows": self.user_rows,
            "largest_user": {"id": self.largest_user[0], "rows": self.largest_user[1]},
            "largest_merchant_partition_rows": self.merchant_rows,
            "largest_merchant": {"id": self.largest_merchant[0], "rows": self.largest_merchant[1]},
        }


@dataclass
class Progress:
    """Callbacks a command passes down: `plan(partitions, dashboard link or None)` once the
    run is planned, then `advance(1)` as each partition is done."""

    plan: Callable[[int, str | None], None] = lambda _n, _link: None
    advance: Callable[[int], None] = lambda _n: None


def side_size(side: Side) -> tuple[int, tuple[str | None, int]]:
    return side.rows, side.largest


def run_parts(client: Any, finals: list, extras: list, progress: Progress, keep: list = ()):
    """Compute `finals` (one `PartDone` each), `extras` and `keep` in one go, so the stages
    they share run once: the finals in partition order, the extras' values, and futures of
    `keep` (left on the cluster)."""
    from distributed import as_completed

    futures = client.compute([*finals, *extras, *keep])
    mine = futures[: len(finals)]
    rest = futures[len(finals) : len(finals) + len(extras)]
    kept = futures[len(finals) + len(extras) :]
    results = []
    try:
        for future in as_completed(mine):
            results.append(future.result())
            progress.advance(1)
        values = client.gather(rest)
    except BaseException:
        client.cancel(futures)
        raise
    return sorted(results, key=lambda done: done.index), values, kept


def shuffle_stats(sizes: list, partitions: int, workers: int, dashboard: str | None):
    """`ShuffleStats` from `side_size` of every user side, then every merchant side."""
    users, merchants = sizes[:partitions], sizes[partitions:]

    def largest(found):
        rows = max((n for n, _ in found), default=0)
        key = max((k for _, k in found), key=lambda k: k[1], default=(None, 0))
        return rows, key

    (user_rows, user_key), (merchant_rows, merchant_key) = largest(users), largest(merchants)
    return ShuffleStats(
        partitions, workers, dashboard, user_rows, user_key, merchant_rows, merchant_key
    )
