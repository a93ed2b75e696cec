"""Which replay worker decides which record: a stable hash of the record's `user_id`.

A user's records all go to one worker, so each worker sees its users' records in input order,
as one process would. The hash is CRC-32 of the id's UTF-8 bytes, the same in every process
and every run (Python's `hash` of a string is salted per process).

    shares = worker_shares([t.user_id for t in records], total=30_000, workers=2)
    shares[0]  # the run indices (0 .. total-1) worker 0 decides, in order
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np


def owner(user_id: str, workers: int) -> int:
    """The worker (0 .. workers-1) that decides `user_id`'s records."""
    return zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % workers


def worker_shares(user_ids: Sequence[str], total: int, workers: int) -> list[np.ndarray]:
    """For each worker, the run indices it decides: record k of the run is input record
    k % n (a `--loop` pass repeats the input), owned as that record's user."""
    owners = np.fromiter((owner(u, workers) for u in user_ids), np.int64, len(user_ids))
    runs = np.arange(total, dtype=np.int64)
    of_run = owners[runs % len(user_ids)]
    return [runs[of_run == w] for w in range(workers)]
