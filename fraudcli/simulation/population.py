"""The simulated population: users and merchants, fixed by the seed and the population sizes.

The population never depends on the period being generated, so a later period with the same
seed continues the same world: the same users keep their homes, devices and usual merchants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudcli.simulation import world

USUAL_PHYSICAL = 8  # card-present merchants a user returns to, all in their home city
USUAL_ONLINE = 4
ONLINE_MERCHANT_SHARE = 0.25
MIN_MERCHANTS = 4 * len(world.CITIES)  # every city needs a few shops


@dataclass(frozen=True)
class Population:
    """Users and merchants as parallel arrays (index = id number)."""

    user_ids: np.ndarray  # "u000042"
    user_city: np.ndarray  # home city (index into world.CITIES)
    user_spend: np.ndarray  # spending level, multiplies every amount (lognormal, median 1)
    user_activity: np.ndarray  # probability that a given purchase is this user's
    user_peak_hour: np.ndarray  # local hour around which the user shops
    user_online_share: np.ndarray  # share of the user's purchases made online
    user_devices: np.ndarray  # (n_users, 2) device indices; both equal when a user has one
    usual_physical: np.ndarray  # (n_users, USUAL_PHYSICAL) merchant indices
    usual_online: np.ndarray  # (n_users, USUAL_ONLINE) merchant indices
    device_ids: np.ndarray  # "dev-3fa85f6457"
    merchant_ids: np.ndarray  # "m00042"
    merchant_category: np.ndarray  # index into world.CATEGORIES
    merchant_city: np.ndarray  # -1 for online merchants
    merchant_lat: np.ndarray  # NaN for online merchants
    merchant_lon: np.ndarray
    merchant_scale: np.ndarray  # the merchant's price level (lognormal, median 1)
    merchant_channel: np.ndarray  # world.POS / ONLINE / ATM
    physical_by_city: np.ndarray  # physical merchant indices grouped by city
    city_first: np.ndarray  # where each city's group starts in physical_by_city
    city_count: np.ndarray  # merchants in each city's group (at least 2)
    online_merchants: np.ndarray  # online merchant indices

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def merchants_in(self, rng: np.random.Generator, cities: np.ndarray) -> np.ndarray:
        """One random physical merchant in each of `cities`."""
        offset = (rng.random(len(cities)) * self.city_count[cities]).astype(np.int64)
        return self.physical_by_city[self.city_first[cities] + offset]


def build_population(seed: int, n_users: int, n_merchants: int) -> Population:
    """The world for a seed; the same arguments always give the same population."""
    if n_users < 1:
        raise ValueError(f"n_users must be at least 1, got {n_users}")
    if n_merchants < MIN_MERCHANTS:
        raise ValueError(f"n_merchants must be at least {MIN_MERCHANTS}, got {n_merchants}")
    sequence = np.random.SeedSequence(seed % 2**64, spawn_key=(0, n_users, n_merchants))
    rng = np.random.default_rng(sequence)
    merchants = _merchants(rng, n_merchants)
    users = _users(rng, n_users)
    usual = _usual_merchants(rng, users["user_city"], merchants)
    return Population(**users, **usual, **merchants)


def _merchants(rng: np.random.Generator, n: int) -> dict:
    n_online = round(n * ONLINE_MERCHANT_SHARE)
    n_cities = len(world.CITIES)
    weight = 0.8 * world.CITY_HOME_SHARE + 0.2 / n_cities
    # Two shops in every city first, so travellers and fraudsters always find one.
    city = np.concatenate(
        [
            np.arange(2 * n_cities) % n_cities,
            rng.choice(n_cities, n - n_online - 2 * n_cities, p=weight),
        ]
    )
    category = np.concatenate(
        [
            _draw(rng, world.PHYSICAL_CATEGORY_WEIGHT, len(city)),
            _draw(rng, world.ONLINE_CATEGORY_WEIGHT, n_online),
        ]
    )
    city = np.concatenate([city, np.full(n_online, -1)])
    online = city < 0
    jitter = rng.normal(0.0, 0.08, size=(2, n))  # about 9 km around the city centre
    lat = np.where(online, np.nan, np.round(world.CITY_LAT[city] + jitter[0], 4))
    lon = np.where(online, np.nan, np.round(world.CITY_LON[city] + jitter[1], 4))
    channel = np.where(online, world.ONLINE, np.where(category == world.CASH, world.ATM, world.POS))
    order = np.flatnonzero(~online)[np.argsort(city[~online], kind="stable")]
    count = np.bincount(city[~online], minlength=n_cities)
    return {
        "merchant_ids": np.array([f"m{i:05d}" for i in range(n)]),
        "merchant_category": category,
        "merchant_city": city,
        "merchant_lat": lat,
        "merchant_lon": lon,
        "merchant_scale": rng.lognormal(0.0, 0.3, n),
        "merchant_channel": channel.astype(np.int8),
        "physical_by_city": order,
        "city_first": np.concatenate([[0], np.cumsum(count)[:-1]]),
        "city_count": count,
        "online_merchants": np.flatnonzero(online),
    }


def _draw(rng: np.random.Generator, weight: np.ndarray, size: int) -> np.ndarray:
    return rng.choice(len(weight), size, p=weight / weight.sum())


def _users(rng: np.random.Generator, n: int) -> dict:
    night_owl = rng.random(n) < 0.08
    peak = np.where(night_owl, rng.normal(22.5, 1.0, n), np.clip(rng.normal(14.0, 2.5, n), 9, 20))
    activity = rng.lognormal(0.0, 0.8, n)
    devices = np.arange(2 * n).reshape(n, 2)
    one_device = rng.random(n) < 0.5
    devices[one_device, 1] = devices[one_device, 0]
    codes = rng.integers(0, 2**40, size=2 * n)
    return {
        "user_ids": np.array([f"u{i:06d}" for i in range(n)]),
        "user_city": _draw(rng, world.CITY_HOME_SHARE, n),
        "user_spend": rng.lognormal(0.0, 0.5, n),
        "user_activity": activity / activity.sum(),
        "user_peak_hour": peak,
        "user_online_share": rng.beta(2.0, 6.0, n),
        "user_devices": devices,
        "device_ids": np.array([f"dev-{c:010x}" for c in codes.tolist()]),
    }


def _usual_merchants(rng: np.random.Generator, user_city: np.ndarray, merchants: dict) -> dict:
    n = len(user_city)
    city = np.repeat(user_city, USUAL_PHYSICAL)
    offset = (rng.random(len(city)) * merchants["city_count"][city]).astype(np.int64)
    physical = merchants["physical_by_city"][merchants["city_first"][city] + offset]
    online = merchants["online_merchants"]
    popularity = 1.0 / np.arange(1, len(online) + 1) ** 0.7  # a few big online shops
    chosen = rng.choice(online, n * USUAL_ONLINE, p=popularity / popularity.sum())
    return {
        "usual_physical": physical.reshape(n, USUAL_PHYSICAL),
        "usual_online": chosen.reshape(n, USUAL_ONLINE),
    }
