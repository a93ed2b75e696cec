"""Fault injection: a feature store that is sometimes slow, and per-record deadlines.

`SlowStore` wraps the real store. A seeded random draw picks the lookups that get the extra
delay (`--inject-latency MS@FRACTION`, deterministic with `--seed`). The engine sets
`deadline_ns` (absolute, perf_counter ns) before each record; a delayed lookup that would pass
it waits only until the deadline and raises `StoreTimeout`, so the pipeline answers from the
rules alone (degraded) in time instead of waiting for the slow dependency.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from fraudcli.errors import UsageError
from fraudcli.features.store import StoreTimeout
from fraudcli.ranges import INJECT_FRACTION, INJECT_MS
from fraudcli.records.schema import Txn
from fraudcli.replay.schedule import wait_until


@dataclass(frozen=True)
class Fault:
    """Add `delay_ms` to a `fraction` of feature-store lookups."""

    delay_ms: float
    fraction: float

    @classmethod
    def parse(cls, text: str) -> Fault:
        """'5@0.01' -> 5 ms on 1% of lookups."""
        try:
            delay, fraction = (float(part) for part in text.split("@"))
        except ValueError:
            raise UsageError(
                f"--inject-latency wants MS@FRACTION, e.g. 5@0.01, got {text[:40]!r}"
            ) from None
        if delay not in INJECT_MS or fraction not in INJECT_FRACTION:
            raise UsageError(
                f"--inject-latency wants MS@FRACTION, finite, with MS {INJECT_MS} ms and "
                f"FRACTION {INJECT_FRACTION}, got {text[:40]!r}"
            )
        return cls(delay, fraction)


class SlowStore:
    """A feature store whose `lookup` is sometimes slow, and gives up at `deadline_ns`."""

    def __init__(self, inner, fault: Fault | None, seed: int = 0) -> None:
        self._inner = inner
        self._fraction = fault.fraction if fault else 0.0
        self._delay_ns = int(fault.delay_ms * 1e6) if fault else 0
        self._random = random.Random(seed).random
        self.deadline_ns: int | None = None
        self.injected = 0
        self.timeouts = 0

    def lookup(self, txn: Txn) -> list[float]:
        if self._fraction and self._random() < self._fraction:
            self._stall()
        return self._inner.lookup(txn)

    def _stall(self) -> None:
        self.injected += 1
        until = time.perf_counter_ns() + self._delay_ns
        deadline = self.deadline_ns
        if deadline is not None and until > deadline:
            wait_until(deadline)
            self.timeouts += 1
            raise StoreTimeout("feature store did not answer before the deadline")
        wait_until(until)

    def update(self, txn: Txn) -> None:
        self._inner.update(txn)

    def observe(self, txn: Txn, lookup: bool = True) -> list[float] | None:
        """The inner store's `observe`, its lookup slowed as `lookup` would be (a timeout
        changes nothing)."""
        if lookup and self._fraction and self._random() < self._fraction:
            self._stall()
        return self._inner.observe(txn, lookup)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)
