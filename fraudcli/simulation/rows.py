"""Generated rows as parallel integer-coded arrays, and their conversion to the Arrow table.

Strings are only materialised at the end, by `take` from small vocabularies (users, merchants,
devices, countries), which is what keeps a million rows fast.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.simulation import world
from fraudcli.simulation.population import Population

SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("user_id", pa.string()),
        ("amount", pa.float64()),
        ("merchant_id", pa.string()),
        ("merchant_category", pa.string()),
        ("country", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("device_id", pa.string()),
        ("channel", pa.string()),
        ("is_fraud", pa.int8()),
        ("fraud_pattern", pa.string()),
    ]
)


@dataclass
class Rows:
    """Transactions under construction; one entry per row in every array."""

    t: np.ndarray  # epoch seconds (int64)
    user: np.ndarray  # user index
    merchant: np.ndarray  # merchant index
    amount: np.ndarray  # dollars, rounded to cents
    country: np.ndarray  # index into world.COUNTRIES
    lat: np.ndarray  # NaN when not card-present
    lon: np.ndarray
    device: np.ndarray  # device index, -1 when none
    channel: np.ndarray  # world.POS / ONLINE / ATM
    pattern: np.ndarray  # 0 legitimate, else 1 + index into the fraud pattern names

    def __len__(self) -> int:
        return len(self.t)


def concat(parts: list[Rows]) -> Rows:
    names = [f.name for f in fields(Rows)]
    return Rows(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in names})


def pattern_rows(pop: Population, code: int, t, user, merchant, amount, country, device) -> Rows:
    """Fraud rows of one pattern (`code`: 1 + its index in the pattern names), located at their
    merchants."""
    return Rows(
        t=np.asarray(t, dtype=np.int64),
        user=user,
        merchant=merchant,
        amount=amount,
        country=np.asarray(country, dtype=np.int16),
        lat=pop.merchant_lat[merchant],
        lon=pop.merchant_lon[merchant],
        device=np.asarray(device, dtype=np.int64),
        channel=pop.merchant_channel[merchant],
        pattern=np.full(len(user), code, dtype=np.int8),
    )


def card_present(pop: Population, merchant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of the merchants (NaN for online ones)."""
    return pop.merchant_lat[merchant], pop.merchant_lon[merchant]


def to_table(
    rows: Rows,
    pop: Population,
    extra_devices: list[str],
    id_prefix: str,
    patterns: tuple,
    first_number: int = 1,
) -> pa.Table:
    """Sort by time (ties by generation order) and build the table in SCHEMA; transaction ids
    are numbered from `first_number`."""
    order = np.argsort(rows.t, kind="stable")
    device = rows.device[order]
    numbers = pa.array(np.arange(first_number, first_number + len(order))).cast(pa.string())
    columns = [
        pc.binary_join_element_wise(id_prefix, pc.utf8_lpad(numbers, 7, "0"), ""),
        pa.array(rows.t[order] * 1000, type=pa.int64()).cast(SCHEMA.field("timestamp").type),
        _take(pop.user_ids, rows.user[order]),
        pa.array(rows.amount[order]),
        _take(pop.merchant_ids, rows.merchant[order]),
        _take(world.CATEGORY_NAMES, pop.merchant_category[rows.merchant[order]]),
        _take(world.COUNTRIES, rows.country[order]),
        pa.array(rows.lat[order], from_pandas=True),
        pa.array(rows.lon[order], from_pandas=True),
        _take([*pop.device_ids.tolist(), *extra_devices], device, mask=device < 0),
        _take(world.CHANNELS, rows.channel[order]),
        pa.array((rows.pattern[order] > 0).astype(np.int8)),
        _take([None, *patterns], rows.pattern[order]),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def _take(vocabulary, index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    words = pa.array(list(vocabulary), type=pa.string())
    positions = pa.array(np.where(index < 0, 0, index).astype(np.int64), mask=mask)
    return words.take(positions)
