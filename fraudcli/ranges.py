"""The stated range of every numeric option: finite, and between two bounds.

    >>> 5000.0 in TPS, float("inf") in TPS, float("nan") in TPS
    (True, False, False)
    >>> str(DEADLINE_MS)
    '0 < x <= 60,000'

The library checks its inputs against these and the CLI turns the same ranges into Typer
callbacks (`fraudcli.cli.options.finite`), so an option is refused before anything runs, naming
the option: exit 2. This module imports nothing heavy, so the CLI can build its options from it
without loading NumPy for `--help`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    low_open: bool = False  # True: the low bound itself is excluded (x > low)

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        try:
            if not math.isfinite(value):
                return False
        except OverflowError:  # an int too large for a float
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and value <= self.high

    def __str__(self) -> str:
        return f"{_number(self.low)} {'<' if self.low_open else '<='} x <= {_number(self.high)}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


# fraud replay. Beyond these a schedule in int64 nanoseconds overflows (`--tps 1e-300`: record 1
# due after 1e300 s) or a run never ends (`--inject-latency 1e9@0.5`: 11 days a lookup).
TPS = Range(0.001, 10_000_000)
SPEED = Range(0.5, 1_000_000_000)  # 100 years of data at 0.5x still fit int64 nanoseconds
DURATION = Range(0, 86_400, low_open=True)  # seconds: a day
WARMUP = Range(0, 86_400)
DEADLINE_MS = Range(0, 60_000, low_open=True)
INJECT_MS = Range(0, 60_000)
INJECT_FRACTION = Range(0, 1)
SLO_P99_MS = Range(0, 3_600_000, low_open=True)
MAX_LIMIT = 10**12  # --limit, records

# fraud drift-report: PSI over deciles with the 1e-4 floor stays under about 20
PSI = Range(0, 100)

# fraud train: the inverse L2 strength (`inf` would be written into model.json, which JSON cannot)
C = Range(1e-6, 1_000_000)

# fraud simulate: days, and the period must end by 2100 (the last year a record may have)
SIMULATE_DAYS = Range(0.01, 36_500)
CHECKPOINT_SECONDS = Range(0, 86_400, low_open=True)  # a day at most between checkpoints
DEFAULT_CHECKPOINT_SECONDS = 60.0
MAX_SIMULATE_ROWS = 10**9  # -n
