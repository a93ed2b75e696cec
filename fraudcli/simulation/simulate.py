"""Synthetic labelled card transactions with known, documented fraud patterns.

    >>> table = simulate(50_000, seed=7)                       # 60 days from 2026-01-01
    >>> later = simulate(10_000, seed=7, start="2026-03-02", days=3)   # the same world, later

The population (users with their homes, habits, devices and usual merchants; merchants with
their category, country and location) depends only on `seed`, `n_users` and `n_merchants`, so a
later period with the same seed continues the same world and features keep their meaning across
files. Transaction ids embed the period start and the seed, so periods never share an id.

About 0.75% of rows are fraud, from the patterns in FRAUD_PATTERNS; `fraud_pattern` names the
pattern of each fraud row (null for legitimate rows). `drift=True` applies DRIFT.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from fraudcli.ranges import SIMULATE_DAYS
from fraudcli.records.timestamps import MAX_TS, MIN_TS
from fraudcli.simulation import fraud, legit, rows
from fraudcli.simulation.period import DAY, DRIFT_SHIFTS, NO_SHIFTS, Period
from fraudcli.simulation.population import Population, build_population

__all__ = [
    "DAYS",
    "DEFAULT_MERCHANTS",
    "DEFAULT_USERS",
    "DRIFT",
    "FRAUD_PATTERNS",
    "FRAUD_RATE",
    "SCHEMA",
    "build_population",
    "check_period",
    "simulate",
    "start_seconds",
]

DEFAULT_USERS = 5_000
DEFAULT_MERCHANTS = 1_000
DAYS = SIMULATE_DAYS  # and the period must end by 2100 (`check_period`)
FRAUD_RATE = fraud.FRAUD_RATE
SCHEMA = rows.SCHEMA

FRAUD_PATTERNS: dict[str, str] = {
    "card_testing": "a burst of 4-9 amounts under $5 within minutes at one merchant new to the "
    "victim, mostly online from a never-seen device (35% of fraud rows)",
    "account_takeover": "1-4 large online purchases (median ~$700) from a new device in a foreign "
    "country, mostly at the victim's local night, at high-value merchants (25%)",
    "compromised_merchant": "a few card-present merchants, each for 10-30 days, charge many "
    "different local customers 1.5-3x the usual amount (25%)",
    "impossible_travel": "a card-present purchase 10-120 minutes after a genuine card-present one, "
    "in a city at least 3,000 km away (15%)",
}

DRIFT: dict[str, str] = {
    "amount_inflation": f"every amount x{DRIFT_SHIFTS.amount_factor:g} (card testing excepted)",
    "category_mix": f"online share +{DRIFT_SHIFTS.online_boost:.0%} per user, and "
    f"{DRIFT_SHIFTS.digital_goods_share:.0%} of online purchases go to digital_goods shops",
    "night_activity": f"{DRIFT_SHIFTS.night_share:.0%} of everyday purchases move to local "
    "night (00:00-05:00)",
}


def simulate(
    n_transactions: int,
    *,
    seed: int = 7,
    start: datetime | str = "2026-01-01",
    days: float = 60.0,
    n_users: int | None = None,
    n_merchants: int | None = None,
    drift: bool = False,
) -> pa.Table:
    """`n_transactions` rows over `days` days from `start`, sorted by time (schema: SCHEMA).

    Deterministic: the same arguments give a byte-identical table.
    """
    if n_transactions < 0:
        raise ValueError(f"n_transactions must not be negative, got {n_transactions}")
    first = start_seconds(start)
    check_period(first, days)
    pop = build_population(seed, n_users or DEFAULT_USERS, n_merchants or DEFAULT_MERCHANTS)
    period = Period(first, max(round(days * DAY), 1), DRIFT_SHIFTS if drift else NO_SHIFTS)
    key = (1, first % 2**63, n_transactions, period.seconds, int(drift))
    rng = np.random.default_rng(np.random.SeedSequence(seed % 2**64, spawn_key=key))
    return _generate(rng, pop, period, n_transactions, _id_prefix(first, seed, drift))


def _generate(rng, pop: Population, period: Period, n: int, id_prefix: str) -> pa.Table:
    plan = fraud.plan_fraud(rng, n)
    everyday = legit.legit_rows(rng, pop, period, n - plan.rows)
    fraudulent, new_devices = fraud.fraud_rows(rng, pop, period, plan, everyday)
    table_rows = rows.concat([everyday, fraudulent])
    table_rows.t = table_rows.t + period.start
    return rows.to_table(table_rows, pop, new_devices, id_prefix, fraud.PATTERNS)


def start_seconds(start: datetime | str) -> int:
    """Epoch seconds of `start`, an ISO date or datetime (UTC unless it says otherwise).

    ValueError unless it is a real moment in the years a record may have (2000-2099): the data
    must be readable by `fraud` itself.
    """
    try:
        moment = datetime.fromisoformat(start) if isinstance(start, str) else start
    except ValueError:
        raise ValueError(f"not a real ISO date such as 2026-01-01: {str(start)[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    if not MIN_TS <= seconds < MAX_TS:
        raise ValueError(f"the start must be in the years 2000-2099, got {str(start)[:40]!r}")
    return int(seconds)


def check_period(first: int, days: float) -> None:
    """ValueError unless `days` is in DAYS and the period from `first` ends by 2100."""
    if days not in DAYS:
        raise ValueError(f"days must be a finite number with {DAYS}, got {days!r}")
    if first + days * DAY > MAX_TS:
        raise ValueError(f"{days:g} days from the start run past 2099, the last year of the format")


def _id_prefix(first: int, seed: int, drift: bool) -> str:
    """Ids differ between periods, and between a period and its drifted version."""
    stamp = datetime.fromtimestamp(first, UTC).strftime("%Y%m%dT%H%M%S")
    return f"tx-{stamp}-{seed}{'d' if drift else ''}-"
