"""The four fraud patterns, each with the signature a good detector can learn.

- card_testing: a burst of 4-9 small amounts (< $5) within minutes, at one merchant new to the
  victim, mostly online from a device never seen before.
- account_takeover: 1-4 large online purchases from a new device in a foreign country, mostly
  at the victim's local night, at high-value merchants (electronics, jewelry, travel, gift cards).
- compromised_merchant: a few card-present merchants are compromised for 10-30 days; during that
  window they charge many different local customers inflated amounts.
- impossible_travel: a cloned card is used card-present 10-120 minutes after a genuine
  card-present purchase, in a city at least 3,000 km away.
- gift_card_cashout, atm_night_cashout, dormant_takeover: signals that are steps, interactions
  or changes against the user's own habit (`fraudcli.simulation.nonlinear`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudcli.simulation import nonlinear, world
from fraudcli.simulation.legit import purchase_amounts
from fraudcli.simulation.period import DAY, NIGHT_HOURS, Period, burst_times, local_hour_to_offset
from fraudcli.simulation.population import Population
from fraudcli.simulation.rows import Rows, concat, pattern_rows

PATTERNS = (
    "card_testing",
    "account_takeover",
    "compromised_merchant",
    "impossible_travel",
    "gift_card_cashout",
    "atm_night_cashout",
    "dormant_takeover",
)
FRAUD_RATE = 0.0075  # share of all rows
PATTERN_SHARE = (0.25, 0.18, 0.18, 0.12, 0.09, 0.08, 0.10)  # of the fraud rows, PATTERNS order
MIN_TRAVEL_KM = 3000.0
_HIGH_VALUE = ("electronics", "jewelry", "travel", "digital_goods")


@dataclass(frozen=True)
class FraudPlan:
    """How many fraud rows of each pattern a period gets (bursts are whole)."""

    card_testing: np.ndarray  # burst sizes
    account_takeover: np.ndarray  # burst sizes
    compromised_merchant: int
    impossible_travel: int
    gift_card_cashout: np.ndarray  # burst sizes
    atm_night_cashout: np.ndarray  # burst sizes
    dormant_takeover: np.ndarray  # burst sizes

    @property
    def rows(self) -> int:
        bursts = (self.card_testing, self.account_takeover, self.gift_card_cashout)
        bursts += (self.atm_night_cashout, self.dormant_takeover)
        return (
            sum(int(b.sum()) for b in bursts) + self.compromised_merchant + self.impossible_travel
        )


def plan_fraud(rng: np.random.Generator, n: int) -> FraudPlan:
    quota = [round(n * FRAUD_RATE * share) for share in PATTERN_SHARE]
    return FraudPlan(
        card_testing=_bursts(rng, quota[0], 4, 9),
        account_takeover=_bursts(rng, quota[1], 1, 4),
        compromised_merchant=quota[2],
        impossible_travel=quota[3],
        gift_card_cashout=_bursts(rng, quota[4], 1, 3),
        atm_night_cashout=_bursts(rng, quota[5], 1, 2),
        dormant_takeover=_bursts(rng, quota[6], 2, 4),
    )


def _bursts(rng: np.random.Generator, rows: int, low: int, high: int) -> np.ndarray:
    """Burst sizes in [low, high] adding up to at most `rows`."""
    sizes = rng.integers(low, high + 1, max(rows // low, 0))
    return sizes[np.cumsum(sizes) <= rows]


def fraud_rows(
    rng: np.random.Generator,
    pop: Population,
    period: Period,
    plan: FraudPlan,
    legit: Rows,
    windows: tuple,
    before: tuple,
) -> tuple[Rows, list[str]]:
    """The planned fraud rows, and the names of the fraudsters' new devices they use.

    `windows` are the compromised merchants open during the period (`Context.windows`);
    `before` is (user, time) of each user's last legitimate purchase before the period. A
    pattern may come out short of its plan (no window open, too few anchors or silences in a
    short period): the caller fills the difference with legitimate rows."""
    first_device = 2 * pop.n_users
    n_new = len(plan.card_testing) + len(plan.account_takeover)
    codes = rng.integers(0, 2**40, n_new)
    devices = np.arange(first_device, first_device + n_new)
    seen = (np.concatenate([before[0], legit.user]), np.concatenate([before[1], legit.t]))
    parts = [
        _card_testing(rng, pop, period, plan.card_testing, devices[: len(plan.card_testing)]),
        _account_takeover(
            rng, pop, period, plan.account_takeover, devices[len(plan.card_testing) :]
        ),
        _compromised_merchant(rng, pop, period, plan.compromised_merchant, windows),
        _impossible_travel(rng, pop, period, plan.impossible_travel, legit),
        nonlinear.gift_card_cashout(rng, pop, period, plan.gift_card_cashout, _code(4)),
        nonlinear.atm_night_cashout(rng, pop, period, plan.atm_night_cashout, _code(5)),
        nonlinear.dormant_takeover(rng, pop, period, plan.dormant_takeover, seen, _code(6)),
    ]
    rows = concat(parts)
    rows.t = np.clip(rows.t, 0, period.seconds - 1)
    return rows, [f"dev-{c:010x}" for c in codes.tolist()]


def _code(index: int) -> int:
    """The `pattern` value of PATTERNS[index] (0 is legitimate)."""
    return index + 1


def _rows(pop: Population, pattern: str, t, user, merchant, amount, country, device) -> Rows:
    return pattern_rows(
        pop, _code(PATTERNS.index(pattern)), t, user, merchant, amount, country, device
    )


def _card_testing(rng, pop: Population, period: Period, sizes, devices) -> Rows:
    k = len(sizes)
    victim = rng.choice(pop.n_users, k, p=pop.user_activity)
    online = rng.random(k) < 0.85
    merchant = np.where(
        online,
        _new_online_merchant(rng, pop, victim),
        pop.merchants_in(rng, rng.integers(0, len(world.CITIES), k)),
    )
    foreign = world.FRAUD_COUNTRY_INDEX[rng.integers(0, len(world.FRAUD_COUNTRIES), k)]
    home = world.CITY_COUNTRY_INDEX[pop.user_city[victim]]
    city_country = world.CITY_COUNTRY_INDEX[np.maximum(pop.merchant_city[merchant], 0)]
    country = np.where(online, np.where(rng.random(k) < 0.5, foreign, home), city_country)
    event, t = burst_times(rng, period.uniform_times(rng, k, margin=3600), sizes, 40.0)
    amount = np.round(rng.uniform(0.5, 4.99, len(event)), 2)
    amount[rng.random(len(event)) < 0.25] = 1.0
    device = np.where(online, devices, -1)[event]
    return _rows(
        pop, "card_testing", t, victim[event], merchant[event], amount, country[event], device
    )


def _new_online_merchant(rng, pop: Population, user: np.ndarray) -> np.ndarray:
    merchant = rng.choice(pop.online_merchants, len(user))
    for _ in range(3):  # redraw the rare picks that are already a usual merchant of the user
        usual = (pop.usual_online[user] == merchant[:, None]).any(axis=1)
        merchant[usual] = rng.choice(pop.online_merchants, usual.sum())
    return merchant


def _account_takeover(rng, pop: Population, period: Period, sizes, devices) -> Rows:
    k = len(sizes)
    victim = rng.choice(pop.n_users, k, p=pop.user_activity)
    night = rng.random(k) < 0.7
    days = rng.integers(0, max(1, period.seconds // DAY), k)
    offset = world.CITY_UTC_OFFSET[pop.user_city[victim]]
    at_night = local_hour_to_offset(days, rng.uniform(*NIGHT_HOURS, k), offset) % period.seconds
    start = np.where(night, at_night, period.uniform_times(rng, k, margin=2 * 3600))
    event, t = burst_times(rng, start, sizes, 600.0)
    shops = pop.online_merchants[
        np.isin(world.CATEGORY_NAMES[pop.merchant_category[pop.online_merchants]], _HIGH_VALUE)
    ]
    merchant = rng.choice(shops if len(shops) else pop.online_merchants, len(event))
    amount = np.round(
        rng.lognormal(np.log(700.0), 0.5, len(event)) * period.shifts.amount_factor, 2
    )
    country = world.FRAUD_COUNTRY_INDEX[rng.integers(0, len(world.FRAUD_COUNTRIES), k)]
    return _rows(
        pop, "account_takeover", t, victim[event], merchant, amount, country[event], devices[event]
    )


def _compromised_merchant(rng, pop: Population, period: Period, n: int, windows) -> Rows:
    merchant, day = _compromised_days(rng, n, windows)
    n = len(merchant)
    city = pop.merchant_city[merchant]
    t = local_hour_to_offset(day, rng.uniform(8, 22, n), world.CITY_UTC_OFFSET[city])
    victim = _local_users(rng, pop, city)
    factor = rng.uniform(1.5, 3.0, n) * period.shifts.amount_factor
    amount = purchase_amounts(rng, pop, merchant, victim, factor)
    country = world.CITY_COUNTRY_INDEX[city]
    return _rows(pop, "compromised_merchant", t, victim, merchant, amount, country, np.full(n, -1))


def _compromised_days(rng, n: int, windows: tuple) -> tuple[np.ndarray, np.ndarray]:
    """For each of `n` rows: a compromised shop, in turn, and a day in its open window (no
    rows when no window is open)."""
    chosen, start, end = windows
    if not len(chosen):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    slot = np.arange(n) % len(chosen)
    day = (start[slot] + rng.random(n) * (end[slot] - start[slot])) // DAY
    return chosen[slot], day.astype(np.int64)


def _local_users(rng, pop: Population, city: np.ndarray) -> np.ndarray:
    """A random user living in each city (any user where nobody does)."""
    order = np.argsort(pop.user_city, kind="stable")
    per_city = np.bincount(pop.user_city, minlength=len(world.CITIES))
    first, count = (np.cumsum(per_city) - per_city)[city], per_city[city]
    offset = (rng.random(len(city)) * count).astype(np.int64)
    anyone = rng.integers(0, pop.n_users, len(city))
    return np.where(count > 0, order[np.minimum(first + offset, pop.n_users - 1)], anyone)


def _impossible_travel(rng, pop: Population, period: Period, n: int, legit: Rows) -> Rows:
    anchors = np.flatnonzero((legit.channel != world.ONLINE) & (legit.t < period.seconds - 7200))
    anchor = rng.choice(anchors, min(n, len(anchors)), replace=False)
    distance = world.haversine_km(
        legit.lat[anchor, None], legit.lon[anchor, None], world.CITY_LAT, world.CITY_LON
    )
    score = rng.random(distance.shape) * (distance >= MIN_TRAVEL_KM)
    city = np.where(score.max(axis=1) > 0, score.argmax(axis=1), distance.argmax(axis=1))
    merchant = pop.merchants_in(rng, city)
    user = legit.user[anchor]
    t = legit.t[anchor] + rng.integers(600, 7200, len(anchor))
    factor = rng.uniform(1.5, 3.0, len(anchor)) * period.shifts.amount_factor
    amount = purchase_amounts(rng, pop, merchant, user, factor)
    country = world.CITY_COUNTRY_INDEX[city]
    return _rows(
        pop, "impossible_travel", t, user, merchant, amount, country, np.full(len(user), -1)
    )
