"""The one list of features: names, meanings, order. `fraud features --list` prints it.

"prior" means earlier in input order; t is the transaction's own timestamp; d is the label delay.
The code that computes them is `fraudcli.features.store.InMemoryStore.lookup`.

Windows never depend on when expiry ran: a user window holds only prior transactions after
N - (30 days + lateness), N being the user's newest prior timestamp, and a merchant window only
those after N - (d + 30 days + lateness), N the merchant's newest; for a record no more than
`lateness` behind N that bound is outside its windows anyway. A label counts from the later of
its transaction's t + d and its arrival (inline labels: t + d; `fraud label`: its label_time,
or the state's newest event time when it was given).
"""

from __future__ import annotations

from dataclasses import dataclass

HOUR = 3600.0
DAY = 86400.0
USER_COUNT_WINDOWS = {"1h": HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
USER_MEAN_WINDOWS = {"24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
MERCHANT_WINDOWS = {"1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
NEW_WINDOW = 30 * DAY
LONGEST_WINDOW = 30 * DAY
MAX_GAP_HOURS = 720.0  # "time since previous" is capped at 30 days (and is 720 with no history)


@dataclass(frozen=True)
class Feature:
    name: str
    meaning: str


def _user_counts() -> list[Feature]:
    return [
        Feature(
            f"user_txn_count_{w}",
            f"user's prior txns with timestamp in (t-{w}, t], after N-30d-lateness "
            "(N: the user's newest)",
        )
        for w in USER_COUNT_WINDOWS
    ]


def _user_means() -> list[Feature]:
    return [
        Feature(
            f"user_amount_mean_{w}",
            f"mean amount of user's prior txns in (t-{w}, t] (as the counts); 0 if none",
        )
        for w in USER_MEAN_WINDOWS
    ]


def _merchant() -> list[Feature]:
    counts = [
        Feature(
            f"merchant_txn_count_{w}",
            f"merchant's prior txns in (t-d-{w}, t-d], after N-d-30d-lateness "
            "(N: the merchant's newest)",
        )
        for w in MERCHANT_WINDOWS
    ]
    rates = [
        Feature(
            f"merchant_fraud_rate_{w}",
            f"share of those in (t-d-{w}, t-d] labelled fraud, a label counting from the "
            "later of t+d of its txn and its arrival; 0 if none",
        )
        for w in MERCHANT_WINDOWS
    ]
    return counts + rates


FEATURES: tuple[Feature, ...] = (
    Feature("amount", "transaction amount"),
    Feature("log_amount", "ln(1 + amount)"),
    Feature("hour_sin", "sin(2*pi*hour/24), hour of day in UTC with minutes"),
    Feature("hour_cos", "cos(2*pi*hour/24)"),
    Feature("is_weekend", "1 on Saturday or Sunday (UTC)"),
    Feature("is_night", "1 between 00:00 and 05:59 (UTC)"),
    *_user_counts(),
    *_user_means(),
    Feature(
        "amount_to_user_mean_30d",
        "amount / user_amount_mean_30d; 1 when the user has no prior txns in 30 days",
    ),
    Feature(
        "hours_since_user_prev",
        "hours since the user's previous transaction, clipped to [0, 720]; 720 if none",
    ),
    Feature("distance_from_prev_km", "km from the user's previous located txn; 0 if unknown"),
    Feature(
        "speed_from_prev_kmh",
        "that distance / the time between them (at least 1 minute), in km/h",
    ),
    Feature(
        "is_new_merchant_30d",
        "1 if the merchant is not among user's prior txns in 30 days (as the counts)",
    ),
    Feature(
        "is_new_country_30d",
        "1 if the country is not among the user's prior txns in 30 days (as the counts)",
    ),
    Feature(
        "is_new_device_30d",
        "1 if the device is not among the user's prior txns in 30 days (as the counts)",
    ),
    *_merchant(),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
