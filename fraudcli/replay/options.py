"""What a replay is asked to do: pacing, length, faults (the options of `fraud replay`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fraudcli import ranges
from fraudcli.errors import UsageError

if TYPE_CHECKING:  # (a type only: the faults' module loads NumPy, which --help need not)
    from fraudcli.replay.faults import Fault

# how replay's percentiles are computed (`fraudcli.replay.latency`), said in --help too
PERCENTILE_DEFINITION = (
    "nearest rank: the smallest recorded value with at least p% of values <= it "
    "(numpy method 'inverted_cdf'), over every measured record"
)

OPTION_RANGES = {  # the stated range of each numeric option (the CLI checks the same)
    "tps": ranges.TPS,
    "speed": ranges.SPEED,
    "duration": ranges.DURATION,
    "warmup": ranges.WARMUP,
    "deadline_ms": ranges.DEADLINE_MS,
}
DEFAULT_TPS = 1000.0  # the rate when none of --tps, --speed, --max is given
SAMPLE_DURATION = 10.0  # seconds the shipped sample is looped for when no length is given


@dataclass(frozen=True)
class ReplayOptions:
    """How to pace the replay. Exactly one of `tps`, `speed`, `max_rate`."""

    tps: float | None = None
    speed: float | None = None
    max_rate: bool = False
    duration: float | None = None
    limit: int | None = None
    warmup: float = 0.0
    loop: bool = False
    deadline_ms: float | None = None
    fault: Fault | None = None
    seed: int = 0
    batch_ms: float = 1.0

    @property
    def mode(self) -> str:
        return "max" if self.max_rate else "speed" if self.speed is not None else "tps"

    def check(self) -> None:
        """Raise UsageError for contradictory or impossible options."""
        chosen = [self.tps is not None, self.speed is not None, self.max_rate]
        if sum(chosen) != 1:
            raise UsageError("choose exactly one pacing: --tps N, --speed X or --max")
        for name, bounds in OPTION_RANGES.items():
            value = getattr(self, name)
            if value is not None and value not in bounds:
                option = f"--{name.replace('_', '-')}"
                raise UsageError(f"{option} must be a finite number with {bounds}, got {value!r}")
        if self.limit is not None and not 1 <= self.limit <= ranges.MAX_LIMIT:
            raise UsageError(f"--limit must be between 1 and {ranges.MAX_LIMIT:,}")
        if self.duration is not None and self.warmup >= self.duration:
            raise UsageError("--warmup must be shorter than --duration")
        if self.loop and self.duration is None and self.limit is None:
            raise UsageError("--loop needs --duration or --limit")

    def with_defaults(self, sample: bool) -> ReplayOptions:
        """The options `fraud replay` runs with: 1,000/s unless a pacing is chosen; the shipped
        `sample` is looped, for 10 s unless a duration or a limit is given."""
        options = self
        if self.tps is None and self.speed is None and not self.max_rate:
            options = dataclasses.replace(options, tps=DEFAULT_TPS)
        if sample:
            length = self.duration is not None or self.limit is not None
            duration = self.duration if length else SAMPLE_DURATION
            options = dataclasses.replace(options, loop=True, duration=duration)
        return options
