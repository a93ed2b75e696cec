"""The period being generated, and the distribution shifts that `drift=True` applies to it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

DAY = 86_400
NIGHT_HOURS = (0, 5)  # local hours [0, 5) count as night


@dataclass(frozen=True)
class Shifts:
    """How a drifted period differs from the reference world (all neutral by default)."""

    amount_factor: float = 1.0  # every amount is multiplied by this (card testing excepted)
    online_boost: float = 0.0  # added to each user's share of online purchases
    digital_goods_share: float = 0.0  # share of online purchases moved to digital-goods shops
    night_share: float = 0.0  # share of everyday purchases moved to local night hours


NO_SHIFTS = Shifts()
DRIFT_SHIFTS = Shifts(
    amount_factor=1.8, online_boost=0.15, digital_goods_share=0.1, night_share=0.25
)


@dataclass(frozen=True)
class Period:
    """[start, start + seconds) in epoch seconds, and the shifts in force."""

    start: int
    seconds: int
    shifts: Shifts = NO_SHIFTS

    def uniform_times(self, rng: np.random.Generator, size: int, margin: int = 0) -> np.ndarray:
        """Relative times spread over the period, leaving `margin` seconds free at the end."""
        room = max(self.seconds - margin, 1)
        return (rng.random(size) * room).astype(np.int64)


def local_hour_to_offset(days: np.ndarray, local_hour: np.ndarray, utc_offset: np.ndarray):
    """Seconds from the period start for a day number and a local hour, in UTC."""
    return (days * DAY + (local_hour - utc_offset) * 3600).astype(np.int64)


def burst_times(rng: np.random.Generator, start: np.ndarray, sizes: np.ndarray, mean_gap: float):
    """Row times of bursts: each starts at `start` and goes on with exponential gaps.
    Returns (the burst of each row, the row times)."""
    event = np.repeat(np.arange(len(sizes)), sizes)
    first = (np.cumsum(sizes) - sizes).astype(np.int64)
    gaps = rng.exponential(mean_gap, len(event)) + mean_gap / 8
    gaps[first] = 0.0
    elapsed = np.cumsum(gaps)
    return event, start[event] + (elapsed - elapsed[first][event]).astype(np.int64)


def chunks(period: Period, n: int, chunk_rows: int) -> list[tuple[Period, int]]:
    """The period cut into consecutive chunks of about `chunk_rows` rows: (chunk, its rows).

    Cuts fall on whole days when every chunk can have one, so times of day stay exact; rows are
    shared in proportion to time and add up to exactly `n`.
    """
    k = max(1, -(-n // chunk_rows))
    whole_days = period.seconds // DAY
    if whole_days >= k:
        cuts = [i * whole_days // k * DAY for i in range(k)]
    else:
        cuts = [i * period.seconds // k for i in range(k)]
    cuts.append(period.seconds)
    rows = [n * cut // period.seconds for cut in cuts]
    return [
        (replace(period, start=period.start + a, seconds=b - a), rows[i + 1] - rows[i])
        for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True))
    ]
