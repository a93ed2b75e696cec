"""Per-record latency storage and exact percentiles.

Latency of a record = the time its decision was ready - the time it was due on the schedule,
so time spent queueing behind a slow record is counted (no coordinated omission). Service
time = the time spent inside the pipeline (lookup -> model -> decision -> state update).

Percentiles are exact nearest-rank values: the p-th percentile is the smallest recorded value
such that at least p% of the values are <= it (`np.percentile(..., method="inverted_cdf")`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

PERCENTILE_METHOD = "inverted_cdf"
LEVELS = (50.0, 90.0, 99.0, 99.9)
MS = 1e6


class LatencyRecorder:
    """Preallocated int64 arrays (ns), one slot per record: due time (after T0), latency,
    service time, and a degraded flag. Nothing is allocated per record while replaying."""

    def __init__(self, capacity: int) -> None:
        capacity = max(int(capacity), 1)
        self.due = np.empty(capacity, dtype=np.int64)
        self.latency = np.empty(capacity, dtype=np.int64)
        self.service = np.empty(capacity, dtype=np.int64)
        self.degraded = np.zeros(capacity, dtype=np.bool_)
        self.count = 0

    @property
    def capacity(self) -> int:
        return len(self.due)

    def grow(self) -> None:
        """Double the capacity (only in runs whose length is not known in advance)."""
        size = self.capacity * 2
        for name in ("due", "latency", "service", "degraded"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)


@dataclass(frozen=True)
class Percentiles:
    """Latency figures in milliseconds (None when nothing was measured)."""

    p50: float | None
    p90: float | None
    p99: float | None
    p999: float | None
    max: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def percentiles(values_ns: np.ndarray) -> Percentiles:
    """p50, p90, p99, p99.9 and max of `values_ns` (ns), in ms, exact nearest rank."""
    if len(values_ns) == 0:
        return Percentiles(None, None, None, None, None)
    qs = np.percentile(values_ns, LEVELS, method=PERCENTILE_METHOD)
    p50, p90, p99, p999 = (float(q) / MS for q in qs)
    return Percentiles(p50, p90, p99, p999, float(values_ns.max()) / MS)


def p99_ms(values_ns: np.ndarray) -> float:
    """The exact p99 in ms (NaN for no values): the rolling figure of the live view."""
    if len(values_ns) == 0:
        return math.nan
    return float(np.percentile(values_ns, 99.0, method=PERCENTILE_METHOD)) / MS
