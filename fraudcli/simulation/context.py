"""What lasts longer than a chunk: users' trips and compromised merchants' windows.

A period is generated in chunks of time (`fraudcli.simulate.simulate_chunks`), so that memory is
bounded by the chunk, not by the period. Trips (days) and compromise windows (weeks) are drawn
once for the whole period, here, from their own random stream; each chunk sees them shifted to
its own clock, so a trip or a window that spans two chunks goes on across the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudcli.simulation import world
from fraudcli.simulation.period import DAY, Period
from fraudcli.simulation.population import Population

TRIPS_PER_YEAR = 2.0
FLIGHT = 18 * 3600  # around a trip, no card-present use for this long
VICTIMS_PER_MERCHANT = 120
MAX_COMPROMISED = 20
_SAME_COUNTRY_TRIP_WEIGHT = 3.0


@dataclass(frozen=True)
class Context:
    """Seconds are relative to the start of the whole period."""

    trip_start: np.ndarray  # per user; inf when the user does not travel
    trip_end: np.ndarray
    trip_city: np.ndarray
    window_merchant: np.ndarray  # per compromised merchant
    window_start: np.ndarray
    window_end: np.ndarray

    def trips(self, offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, city) per user, relative to a chunk starting `offset` seconds in."""
        return self.trip_start - offset, self.trip_end - offset, self.trip_city

    def window_seconds(self, until: int) -> float:
        """Seconds of compromise (summed over merchants) in the first `until` of the period."""
        return float(
            np.clip(until - self.window_start, 0.0, self.window_end - self.window_start).sum()
        )

    def windows(self, offset: int, seconds: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(merchant, start, end) of the windows open during the chunk [offset, offset +
        seconds), clipped to it and relative to its start."""
        start = np.maximum(self.window_start - offset, 0.0)
        end = np.minimum(self.window_end - offset, float(seconds))
        open_ = end > start
        return self.window_merchant[open_], start[open_], end[open_]


def draw_context(
    rng: np.random.Generator, pop: Population, period: Period, compromised_rows: int
) -> Context:
    start, end, city = _trips(rng, pop, period)
    merchant, w_start, w_end = _windows(rng, pop, period, compromised_rows)
    return Context(start, end, city, merchant, w_start, w_end)


def _trips(rng: np.random.Generator, pop: Population, period: Period):
    """At most one trip per user: start, end (relative seconds; inf if none) and city."""
    n = pop.n_users
    duration = np.minimum(rng.uniform(2, 9, n) * DAY, period.seconds - 2 * FLIGHT)
    travels = (rng.random(n) < TRIPS_PER_YEAR * period.seconds / (365 * DAY)) & (duration >= DAY)
    start = rng.random(n) * (period.seconds - FLIGHT - duration)
    weight = np.where(
        world.CITY_COUNTRY[:, None] == world.CITY_COUNTRY, _SAME_COUNTRY_TRIP_WEIGHT, 1.0
    )
    np.fill_diagonal(weight, 0.0)
    cdf = np.cumsum(weight, axis=1) / weight.sum(axis=1, keepdims=True)
    city = (rng.random(n)[:, None] > cdf[pop.user_city]).sum(axis=1)
    start = np.where(travels, start, np.inf)
    return start, start + duration, np.minimum(city, len(world.CITIES) - 1)


def _windows(rng: np.random.Generator, pop: Population, period: Period, rows: int):
    """A few card-present shops in home cities, each compromised for 10-30 days."""
    candidates = np.flatnonzero(
        (pop.merchant_channel == world.POS)
        & (world.CITY_HOME_SHARE[np.maximum(pop.merchant_city, 0)] > 0)
    )
    k = max(1, round(rows / VICTIMS_PER_MERCHANT)) if rows else 0
    k = min(k, MAX_COMPROMISED, len(candidates))
    chosen = rng.choice(candidates, k, replace=False)
    duration = np.minimum(rng.uniform(10, 30, k) * DAY, period.seconds)
    start = rng.random(k) * (period.seconds - duration)
    return chosen, start, start + duration
