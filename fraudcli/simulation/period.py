"""The period being generated, and the distribution shifts that `drift=True` applies to it."""

from __future__ import annotations

from dataclasses import dataclass

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
