"""Three fraud patterns whose signal is not linear in any single feature.

- gift_card_cashout (a step): a hijacked session buys 1-3 gift cards (digital goods) of $300 to
  $600 in round tens within minutes, from the victim's own device, in the victim's own country,
  at the victim's usual hour. Nothing is new; fraud is simply common above a fixed amount.
- atm_night_cashout (an interaction): a cloned card drains cash at an ATM in the victim's home
  city between 01:00 and 04:00 local time, $400 to $800 in twenties, once or twice. Night ATM
  use and large withdrawals each happen legitimately; together they rarely do.
- dormant_takeover (a change against the user's own habit): an account quiet for 10 to 25 days
  suddenly makes 2-4 online purchases within two hours at 4-10x the user's usual amounts, at the
  user's usual shops, on the user's own device. Quiet users and big purchases are common; a
  quiet user's sudden spree is not.
"""

from __future__ import annotations

import numpy as np

from fraudcli.simulation import world
from fraudcli.simulation.legit import purchase_amounts
from fraudcli.simulation.period import DAY, Period, burst_times, local_hour_to_offset
from fraudcli.simulation.population import USUAL_ONLINE, Population
from fraudcli.simulation.rows import Rows, pattern_rows

DORMANT_DAYS = (10.0, 25.0)  # the silence before a dormant takeover
GIFT_CARD_DOLLARS = (300, 600)
ATM_NIGHT_HOURS = (1.0, 4.0)
ATM_DOLLARS = (400, 800)


def _at_usual_hour(rng, pop: Population, period: Period, user: np.ndarray) -> np.ndarray:
    """A time in the period at each user's usual local hour (within two hours)."""
    days = rng.integers(0, max(1, period.seconds // DAY), len(user))
    hour = rng.normal(pop.user_peak_hour[user], 2.0) % 24
    offset = world.CITY_UTC_OFFSET[pop.user_city[user]]
    return local_hour_to_offset(days, hour, offset) % period.seconds


def gift_card_cashout(rng, pop: Population, period: Period, sizes: np.ndarray, code: int) -> Rows:
    k = len(sizes)
    victim = rng.choice(pop.n_users, k, p=pop.user_activity)
    event, t = burst_times(rng, _at_usual_hour(rng, pop, period, victim), sizes, 300.0)
    shops = pop.online_merchants[pop.merchant_category[pop.online_merchants] == world.DIGITAL_GOODS]
    merchant = rng.choice(shops if len(shops) else pop.online_merchants, len(event))
    low, high = GIFT_CARD_DOLLARS
    amount = rng.integers(low // 10, high // 10 + 1, len(event)) * 10.0
    amount *= period.shifts.amount_factor
    home = world.CITY_COUNTRY_INDEX[pop.user_city[victim]]
    device = pop.user_devices[victim, 0]
    user = victim[event]
    return pattern_rows(pop, code, t, user, merchant, amount, home[event], device[event])


def atm_night_cashout(rng, pop: Population, period: Period, sizes: np.ndarray, code: int) -> Rows:
    k = len(sizes)
    victim = rng.choice(pop.n_users, k, p=pop.user_activity)
    city = pop.user_city[victim]
    days = rng.integers(0, max(1, period.seconds // DAY), k)
    hour = rng.uniform(*ATM_NIGHT_HOURS, k)
    start = local_hour_to_offset(days, hour, world.CITY_UTC_OFFSET[city]) % period.seconds
    event, t = burst_times(rng, start, sizes, 400.0)
    merchant = _atms_in(rng, pop, city)[event]
    low, high = ATM_DOLLARS
    twenties = rng.integers(low // 20, high // 20 + 1, len(event)) * period.shifts.amount_factor
    amount = np.round(twenties) * 20.0
    country = world.CITY_COUNTRY_INDEX[city][event]
    user, no_device = victim[event], np.full(len(event), -1)
    return pattern_rows(pop, code, t, user, merchant, amount, country, no_device)


def _atms_in(rng, pop: Population, city: np.ndarray) -> np.ndarray:
    """An ATM in each city (any card-present shop there when the city has no ATM)."""
    atms = np.flatnonzero(pop.merchant_channel == world.ATM)
    out = pop.merchants_in(rng, city)
    for c in np.unique(city).tolist():
        here = atms[pop.merchant_city[atms] == c]
        rows = np.flatnonzero(city == c)
        if len(here):
            out[rows] = rng.choice(here, len(rows))
    return out


def dormant_takeover(
    rng, pop: Population, period: Period, sizes: np.ndarray, seen: tuple, code: int
) -> Rows:
    """Sprees placed in the silences between legitimate purchases, `seen` = (user, time) of
    each (the last one before the period included, at a negative time); fewer than planned
    when the period has too few such silences (the caller tops the rows up)."""
    user, low, high = _silences(*seen)
    k = min(len(sizes), len(user))
    chosen = rng.choice(len(user), k, replace=False) if k else np.empty(0, np.int64)
    sizes, user, low, high = sizes[:k], user[chosen], low[chosen], high[chosen]
    start = (low + rng.random(k) * (high - low)).astype(np.int64)
    event, t = burst_times(rng, start, sizes, 1200.0)
    slot = rng.integers(0, USUAL_ONLINE, len(event))
    merchant = pop.usual_online[user[event], slot]
    amount = purchase_amounts(rng, pop, merchant, user[event], rng.uniform(4.0, 10.0, len(event)))
    home = world.CITY_COUNTRY_INDEX[pop.user_city[user]][event]
    device = pop.user_devices[user, 0][event]
    return pattern_rows(pop, code, t, user[event], merchant, amount, home, device)


def _silences(users: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, ...]:
    """(user, earliest and latest start of a spree) for each gap between two of a user's
    purchases that ends in the period (time >= 0) and is long enough for a spree after
    DORMANT_DAYS[0] of silence, while the last purchase is still within DORMANT_DAYS[1] (so the
    user has a 30-day habit to break). A spree ends two hours before the next purchase."""
    order = np.lexsort((times, users))
    user, t = users[order], times[order].astype(np.float64)
    low = np.maximum(t[:-1] + DORMANT_DAYS[0] * DAY, 0.0)
    high = t[1:] - 7200.0
    gap = t[1:] - t[:-1]
    fits = (user[1:] == user[:-1]) & (gap <= DORMANT_DAYS[1] * DAY) & (high >= low)
    return user[1:][fits], low[fits], high[fits]
