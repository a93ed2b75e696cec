"""Everyday, legitimate spending: who buys, where, when and how much.

Each user shops mostly at their usual merchants, at their usual time of day (local time), online
on their own devices. Some users take one trip in the period; around each flight they only shop
online, so their card-present purchases never imply faster travel than a plane.
"""

from __future__ import annotations

import numpy as np

from fraudcli.simulation import world
from fraudcli.simulation.context import FLIGHT
from fraudcli.simulation.period import DAY, NIGHT_HOURS, Period, local_hour_to_offset
from fraudcli.simulation.population import USUAL_ONLINE, USUAL_PHYSICAL, Population
from fraudcli.simulation.rows import Rows

EXPLORE = 0.08  # share of purchases at a merchant outside the user's usual set
HOUR_SPREAD = 3.0  # sd of a purchase's local hour around the user's peak hour


def legit_rows(
    rng: np.random.Generator, pop: Population, period: Period, n: int, trips: tuple
) -> Rows:
    """`n` legitimate transactions, times relative to the period start; `trips` are the users'
    (start, end, city) on the same clock (`Context.trips`)."""
    user = rng.choice(pop.n_users, n, p=pop.user_activity)
    t = _times(rng, pop, period, user)
    online = rng.random(n) < pop.user_online_share[user] + period.shifts.online_boost
    merchant = np.where(online, _online_merchant(rng, pop, user), _local_merchant(rng, pop, user))
    merchant = _redirect_to_digital_goods(rng, pop, merchant, online, period)
    start, end, city = trips
    away = (t >= start[user] + FLIGHT) & (t < end[user])
    flying = ((t >= start[user]) & (t < start[user] + FLIGHT)) | (
        (t >= end[user]) & (t < end[user] + FLIGHT)
    )
    physical = pop.merchant_city[merchant] >= 0
    merchant[away & physical] = pop.merchants_in(rng, city[user[away & physical]])
    merchant[flying & physical] = _online_merchant(rng, pop, user[flying & physical])
    where = np.where(away, city[user], pop.user_city[user])
    return _finish(rng, pop, period, user, t, merchant, where)


def _times(rng: np.random.Generator, pop: Population, period: Period, user: np.ndarray):
    n = len(user)
    hour = rng.normal(pop.user_peak_hour[user], HOUR_SPREAD) % 24
    night = rng.random(n) < period.shifts.night_share
    hour[night] = rng.uniform(*NIGHT_HOURS, night.sum())
    days = rng.integers(0, max(1, -(-period.seconds // DAY)), n)
    offset = world.CITY_UTC_OFFSET[pop.user_city[user]]
    return local_hour_to_offset(days, hour, offset) % period.seconds


def _local_merchant(rng: np.random.Generator, pop: Population, user: np.ndarray) -> np.ndarray:
    slot = rng.choice(USUAL_PHYSICAL, len(user), p=_zipf(USUAL_PHYSICAL))
    merchant = pop.usual_physical[user, slot]
    explore = rng.random(len(user)) < EXPLORE
    merchant[explore] = pop.merchants_in(rng, pop.user_city[user[explore]])
    return merchant


def _online_merchant(rng: np.random.Generator, pop: Population, user: np.ndarray) -> np.ndarray:
    slot = rng.choice(USUAL_ONLINE, len(user), p=_zipf(USUAL_ONLINE))
    merchant = pop.usual_online[user, slot]
    explore = rng.random(len(user)) < EXPLORE
    merchant[explore] = rng.choice(pop.online_merchants, explore.sum())
    return merchant


def _zipf(k: int) -> np.ndarray:
    weight = 1.0 / np.arange(1, k + 1)
    return weight / weight.sum()


def _redirect_to_digital_goods(rng, pop: Population, merchant, online, period: Period):
    shops = pop.online_merchants[pop.merchant_category[pop.online_merchants] == world.DIGITAL_GOODS]
    moved = online & (rng.random(len(merchant)) < period.shifts.digital_goods_share)
    if len(shops):
        merchant[moved] = rng.choice(shops, moved.sum())
    return merchant


def _finish(rng, pop: Population, period: Period, user, t, merchant, where) -> Rows:
    n = len(user)
    channel = pop.merchant_channel[merchant]
    online = channel == world.ONLINE
    second_device = (rng.random(n) < 0.3).astype(np.int64)
    return Rows(
        t=t,
        user=user,
        merchant=merchant,
        amount=purchase_amounts(rng, pop, merchant, user, period.shifts.amount_factor),
        country=world.CITY_COUNTRY_INDEX[np.where(online, where, pop.merchant_city[merchant])],
        lat=pop.merchant_lat[merchant],
        lon=pop.merchant_lon[merchant],
        device=np.where(online, pop.user_devices[user, second_device], -1),
        channel=channel,
        pattern=np.zeros(n, dtype=np.int8),
    )


def purchase_amounts(rng, pop: Population, merchant, user, factor: float) -> np.ndarray:
    """Category price x merchant price level x user spending level x noise, in cents."""
    category = pop.merchant_category[merchant]
    noise = rng.lognormal(0.0, world.CATEGORY_SIGMA[category])
    amount = world.CATEGORY_MEDIAN[category] * pop.merchant_scale[merchant] * noise * factor
    amount *= pop.user_spend[user]
    cash = category == world.CASH
    amount[cash] = np.maximum(20.0, np.round(amount[cash] / 20.0) * 20.0)
    return np.round(np.maximum(amount, 0.5), 2)
