"""Open-loop pacing: when each record is due, on an absolute schedule that never moves.

Record k is due `due(k)` ns after the start T0, whatever happened before it: a slow record
delays the ones behind it (they queue, and their latency shows it) but never the schedule.
With `--loop`, record k is copy number k // n of input record k % n.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol

import numpy as np

NS = 1_000_000_000
# time.sleep overshoots by ~60 us here (FIELD_NOTES "Pacing a replay"): sleep until this close
# to the target, then spin; a spin of at most ~0.1 ms per wake-up costs little CPU.
# Waits shorter than this are spun, not slept. Measured here: when the loop sleeps between 1 ms
# batches, the CPU it wakes on runs the pipeline 3-4x slower for tens of milliseconds (p99 at
# 10k/s: 35-45 ms sleeping, under 1 ms spinning). Spinning costs one core at high rates; at
# low rates (waits over 2 ms) the loop still sleeps most of the wait.
SPIN_NS = 2_000_000


class Schedule(Protocol):
    def due(self, k: int) -> int: ...
    def count_due(self, elapsed_ns: int) -> int: ...
    def dues(self, ks: np.ndarray) -> np.ndarray: ...


class FixedRate:
    """`--tps N`: record k is due at k / N seconds."""

    def __init__(self, tps: float) -> None:
        if not tps > 0:
            raise ValueError("the rate must be positive")
        self.tps = float(tps)
        self._step = NS / self.tps

    def due(self, k: int) -> int:
        return int(k * self._step)

    def count_due(self, elapsed_ns: int) -> int:
        """How many records are due at `elapsed_ns` (due time <= elapsed)."""
        if elapsed_ns < 0:
            return 0
        n = int(elapsed_ns / self._step) + 1
        # float rounding: make the answer agree exactly with due()
        while n > 0 and self.due(n - 1) > elapsed_ns:
            n -= 1
        while self.due(n) <= elapsed_ns:
            n += 1
        return n

    def dues(self, ks: np.ndarray) -> np.ndarray:
        return (ks.astype(np.float64) * self._step).astype(np.int64)


class Recorded:
    """`--speed X`: records keep their recorded spacing, played X times faster.

    A record stamped earlier than one before it is due with its predecessor (input order
    is processing order). Each loop is shifted by `shift_s` of recorded time.
    """

    def __init__(self, ts: Sequence[float], speed: float, shift_s: float) -> None:
        if not speed > 0:
            raise ValueError("the speed must be positive")
        t = np.asarray(ts, dtype=np.float64)
        offsets = np.rint(np.maximum.accumulate((t - t[0]) / speed * NS)).astype(np.int64)
        self._off = offsets.tolist()
        self._off_array = offsets
        self._n = len(self._off)
        self.period_ns = max(int(round(shift_s / speed * NS)), int(offsets[-1]) + 1)

    def due(self, k: int) -> int:
        loop, j = divmod(k, self._n)
        return loop * self.period_ns + self._off[j]

    def count_due(self, elapsed_ns: int) -> int:
        if elapsed_ns < 0:
            return 0
        loop, rest = divmod(elapsed_ns, self.period_ns)
        return loop * self._n + bisect_right(self._off, rest)

    def dues(self, ks: np.ndarray) -> np.ndarray:
        loop, j = np.divmod(ks, self._n)
        return loop * self.period_ns + self._off_array[j]


def loop_shift(ts: Sequence[float]) -> float:
    """Seconds of recorded time each `--loop` pass is shifted by: the data's span plus one
    mean gap, so the copy's first record comes after the original's last, as in real time."""
    n = len(ts)
    span = max(ts) - min(ts) if n else 0.0
    if n < 2 or span <= 0:
        return 1.0
    return span + span / (n - 1)


def wait_until(target_ns: int) -> None:
    """Sleep for most of a long wait, spin the last 2 ms (see SPIN_NS)."""
    clock = time.perf_counter_ns
    remaining = target_ns - clock()
    if remaining > SPIN_NS:
        time.sleep((remaining - SPIN_NS) / NS)
    while clock() < target_ns:
        pass
