"""Synthetic labelled card transactions with known, documented fraud patterns.

    >>> table = simulate(50_000, seed=7)                       # 60 days from 2026-01-01
    >>> later = simulate(10_000, seed=7, start="2026-03-02", days=3)   # the same world, later
    >>> for part in simulate_chunks(10**8, seed=7, days=600): ...      # bounded memory

The population (users with their homes, habits, devices and usual merchants; merchants with
their category, country and location) depends only on `seed`, `n_users` and `n_merchants`, so a
later period with the same seed continues the same world and features keep their meaning across
files. Transaction ids embed the period start and the seed, so periods never share an id.

About 0.75% of rows are fraud, from the patterns in FRAUD_PATTERNS; `fraud_pattern` names the
pattern of each fraud row (null for legitimate rows). `drift=True` applies DRIFT.

A period is generated in consecutive chunks of time of about CHUNK_ROWS rows each (whole days
when it can), one after the other, so memory depends on the chunk and not on `n_transactions`;
`simulate` is their concatenation. What lasts longer than a chunk (trips, compromised merchants'
windows) is drawn once for the period (`fraudcli.simulation.context`). Exactly
`n_transactions` rows come out: a pattern that cannot place all its rows (too short a period)
leaves them to legitimate ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from fraudcli.ranges import SIMULATE_DAYS
from fraudcli.records.timestamps import MAX_TS, MIN_TS
from fraudcli.simulation import fraud, legit, rows
from fraudcli.simulation.context import Context, draw_context
from fraudcli.simulation.period import DAY, DRIFT_SHIFTS, NO_SHIFTS, Period, chunks
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
    "simulate_chunks",
]

DEFAULT_USERS = 5_000
DEFAULT_MERCHANTS = 1_000
DAYS = SIMULATE_DAYS  # and the period must end by 2100 (`check_period`)
CHUNK_ROWS = 500_000
FRAUD_RATE = fraud.FRAUD_RATE
SCHEMA = rows.SCHEMA

FRAUD_PATTERNS: dict[str, str] = {
    "card_testing": "a burst of 4-9 amounts under $5 within minutes at one merchant new to the "
    "victim, mostly online from a never-seen device (25% of fraud rows)",
    "account_takeover": "1-4 large online purchases (median ~$700) from a new device in a foreign "
    "country, mostly at the victim's local night, at high-value merchants (18%)",
    "compromised_merchant": "a few card-present merchants, each for 10-30 days, charge many "
    "different local customers 1.5-3x the usual amount (18%)",
    "impossible_travel": "a card-present purchase 10-120 minutes after a genuine card-present one, "
    "in a city at least 3,000 km away (12%)",
    "gift_card_cashout": "1-3 gift cards of $300-$600 in round tens within minutes, from the "
    "victim's own device and country at the victim's usual hour: a step in amount (9%)",
    "atm_night_cashout": "1-2 ATM withdrawals of $400-$800 in the victim's home city at "
    "01:00-04:00 local time: night and a large withdrawal, each common alone (8%)",
    "dormant_takeover": "after 10-25 quiet days, 2-4 online purchases within two hours at 4-10x "
    "the user's usual amounts, at the user's usual shops and device: a break in habit (10%)",
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
    chunk_rows: int = CHUNK_ROWS,
) -> pa.Table:
    """`n_transactions` rows over `days` days from `start`, sorted by time (schema: SCHEMA).

    Deterministic: the same arguments give a byte-identical table.
    """
    options = dict(seed=seed, start=start, days=days, n_users=n_users, n_merchants=n_merchants)
    parts = list(simulate_chunks(n_transactions, drift=drift, chunk_rows=chunk_rows, **options))
    return pa.concat_tables(parts) if parts else SCHEMA.empty_table()


def simulate_chunks(
    n_transactions: int,
    *,
    seed: int = 7,
    start: datetime | str = "2026-01-01",
    days: float = 60.0,
    n_users: int | None = None,
    n_merchants: int | None = None,
    drift: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pa.Table]:
    """`simulate`'s table as consecutive tables of about `chunk_rows` rows (none when
    `n_transactions` is 0). The same arguments give the same chunks."""
    if n_transactions < 0:
        raise ValueError(f"n_transactions must not be negative, got {n_transactions}")
    first = start_seconds(start)
    check_period(first, days)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    pop = build_population(seed, n_users or DEFAULT_USERS, n_merchants or DEFAULT_MERCHANTS)
    period = Period(first, max(round(days * DAY), 1), DRIFT_SHIFTS if drift else NO_SHIFTS)
    key = (1, first % 2**63, n_transactions, period.seconds, int(drift))
    parts = chunks(period, n_transactions, chunk_rows)
    streams = np.random.SeedSequence(seed % 2**64, spawn_key=key).spawn(len(parts) + 1)
    compromised = round(n_transactions * FRAUD_RATE * fraud.PATTERN_SHARE[2])
    context = draw_context(np.random.default_rng(streams[0]), pop, period, compromised)
    shares = _compromised_shares(context, parts, compromised)
    prefix, number = _id_prefix(first, seed, drift), 1
    last_seen = np.full(pop.n_users, -np.inf)  # each user's last legitimate purchase so far
    for (chunk, n), stream, share in zip(parts, streams[1:], shares, strict=True):
        if n:
            rng = np.random.default_rng(stream)
            where = (context, chunk.start - period.start, share, last_seen)
            yield _generate(rng, pop, chunk, n, where, prefix, number)
            number += n


def _compromised_shares(context: Context, parts: list, total: int) -> list[int]:
    """The compromised-merchant rows of each chunk: `total` shared in proportion to the
    compromise time open in it, so that every planned row finds an open window."""
    whole = context.window_seconds(2**62)
    if not whole:
        return [0] * len(parts)
    ends = np.cumsum([chunk.seconds for chunk, _ in parts]).tolist()
    cumulative = [round(total * context.window_seconds(end) / whole) for end in ends]
    return np.diff(cumulative, prepend=0).tolist()


def _generate(
    rng, pop: Population, period: Period, n: int, where: tuple, prefix: str, number: int
) -> pa.Table:
    """One chunk: `where` is (the period's context, the chunk's offset in the period, its
    compromised-merchant rows, each user's last legitimate purchase before it, updated here)."""
    context, offset, compromised, last_seen = where
    plan = replace(fraud.plan_fraud(rng, n), compromised_merchant=min(compromised, n))
    trips = context.trips(offset)
    everyday = legit.legit_rows(rng, pop, period, n - plan.rows, trips)
    windows = context.windows(offset, period.seconds)
    known = np.flatnonzero(np.isfinite(last_seen))
    before = (known, last_seen[known] - period.start)
    fraudulent, new_devices = fraud.fraud_rows(rng, pop, period, plan, everyday, windows, before)
    parts = [everyday, fraudulent]
    if len(fraudulent) < plan.rows:  # a pattern found no room: exactly n rows all the same
        parts.append(legit.legit_rows(rng, pop, period, plan.rows - len(fraudulent), trips))
    for legitimate in [everyday, *parts[2:]]:
        np.maximum.at(last_seen, legitimate.user, legitimate.t + period.start)
    table_rows = rows.concat(parts)
    table_rows.t = table_rows.t + period.start
    return rows.to_table(table_rows, pop, new_devices, prefix, fraud.PATTERNS, number)


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
