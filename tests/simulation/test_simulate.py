"""The simulator: determinism, schema, continuation across periods, fraud patterns, drift."""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fraudcli.records.schema import validate
from fraudcli.records.timestamps import format_timestamp
from fraudcli.simulation import world
from fraudcli.simulation.simulate import (
    DEFAULT_MERCHANTS,
    DEFAULT_USERS,
    DRIFT,
    FRAUD_PATTERNS,
    SCHEMA,
    build_population,
    simulate,
)

START = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def base() -> pa.Table:
    return simulate(40_000, seed=7)


@pytest.fixture(scope="module")
def df(base: pa.Table) -> pd.DataFrame:
    return base.to_pandas()


@pytest.fixture(scope="module")
def later() -> pd.DataFrame:
    return simulate(10_000, seed=7, start="2026-03-02", days=3).to_pandas()


@pytest.fixture(scope="module")
def population():
    return build_population(7, DEFAULT_USERS, DEFAULT_MERCHANTS)


def _local_hour(frame: pd.DataFrame, population) -> np.ndarray:
    """Hour of day in each row's user's home time zone."""
    user = frame.user_id.str[1:].astype(int).to_numpy()
    offset = world.CITY_UTC_OFFSET[population.user_city[user]]
    return (frame.timestamp.dt.hour.to_numpy() + offset) % 24


def _home_country(frame: pd.DataFrame) -> pd.Series:
    """Each user's most frequent country over legitimate rows."""
    counts = frame[frame.is_fraud == 0].groupby(["user_id", "country"]).size()
    return counts.sort_values(kind="stable").groupby(level=0).tail(1).reset_index(level=1).country


# --- determinism and schema -------------------------------------------------------------------


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_same_seed_gives_byte_identical_table():
    first, second = simulate(5_000, seed=3), simulate(5_000, seed=3)
    assert first.equals(second)
    assert _parquet_bytes(first) == _parquet_bytes(second)


def test_different_seed_gives_different_table():
    first, second = simulate(5_000, seed=3), simulate(5_000, seed=4)
    assert first.column("amount") != second.column("amount")
    assert set(first.column("transaction_id").to_pylist()).isdisjoint(
        second.column("transaction_id").to_pylist()
    )


def test_schema_and_column_order(base: pa.Table):
    assert base.schema == SCHEMA
    assert base.schema.names[:12] == [
        "transaction_id", "timestamp", "user_id", "amount", "merchant_id", "merchant_category",
        "country", "lat", "lon", "device_id", "channel", "is_fraud",
    ]  # fmt: skip
    assert base.num_rows == 40_000
    for name in ("transaction_id", "timestamp", "user_id", "amount", "merchant_id", "channel"):
        assert base.column(name).null_count == 0, name


def test_values_are_well_formed(df: pd.DataFrame):
    assert df.timestamp.is_monotonic_increasing
    assert df.timestamp.min() >= START
    assert df.timestamp.max() < START + pd.Timedelta(days=60)
    assert (df.amount >= 0).all()
    assert np.allclose(df.amount * 100, np.round(df.amount * 100))
    assert df.country.str.fullmatch("[A-Z]{2}").all()
    assert set(df.channel) == {"pos", "online", "atm"}
    assert set(df.merchant_category) >= {"grocery", "restaurant", "digital_goods", "jewelry"}
    online = df.channel == "online"
    assert df.lat[online].isna().all() and df.lat[~online].notna().all()
    assert df.device_id[~online].isna().all() and df.device_id[online].notna().all()
    assert (df.fraud_pattern.isna() == (df.is_fraud == 0)).all()


def test_records_pass_validation(base: pa.Table):
    for row in base.slice(0, 300).to_pylist():
        row["timestamp"] = format_timestamp(row["timestamp"].timestamp())
        record = {k: v for k, v in row.items() if v is not None}
        txn = validate(record)
        assert txn.amount == row["amount"] and txn.extras == (
            {"fraud_pattern": row["fraud_pattern"]} if row["fraud_pattern"] else None
        )


def test_edge_sizes_and_bad_arguments():
    assert simulate(0).num_rows == 0 and simulate(0).schema == SCHEMA
    assert simulate(1).num_rows == 1
    assert simulate(50, days=0.01).num_rows == 50
    with pytest.raises(ValueError):
        simulate(-1)
    with pytest.raises(ValueError):
        simulate(10, days=0)
    with pytest.raises(ValueError):
        simulate(10, n_merchants=10)


# --- periods of the same world ----------------------------------------------------------------


def test_ids_unique_within_and_across_periods(df: pd.DataFrame, later: pd.DataFrame):
    ids = pd.concat([df.transaction_id, later.transaction_id])
    assert ids.is_unique


def test_later_period_continues_the_same_population(df, later, population):
    assert later.timestamp.min() >= pd.Timestamp("2026-03-02", tz="UTC")
    own = {
        user: set(population.device_ids[population.user_devices[i]])
        for i, user in enumerate(population.user_ids)
    }
    for frame in (df, later):
        legit_online = frame[(frame.is_fraud == 0) & (frame.channel == "online")]
        assert all(
            d in own[u] for u, d in zip(legit_online.user_id, legit_online.device_id, strict=True)
        )
    home_before, home_after = _home_country(df), _home_country(later)
    both = home_before.index.intersection(home_after.index)
    assert len(both) > 2_000
    assert (home_before[both] == home_after[both]).mean() > 0.95


def test_population_ignores_the_period():
    first = build_population(7, 300, 100)
    second = build_population(7, 300, 100)
    other = build_population(8, 300, 100)
    assert np.array_equal(first.usual_physical, second.usual_physical)
    assert not np.array_equal(first.usual_physical, other.usual_physical)
    small = simulate(2_000, seed=7, n_users=300, n_merchants=100, start="2027-01-01", days=5)
    large = simulate(9_000, seed=7, n_users=300, n_merchants=100, days=30)
    cities = {m: c for m, c in zip(first.merchant_ids, first.merchant_city, strict=True)}
    for frame in (small.to_pandas(), large.to_pandas()):
        pos = frame[frame.channel == "pos"]
        lat = world.CITY_LAT[[cities[m] for m in pos.merchant_id]]
        assert np.abs(pos.lat.to_numpy() - lat).max() < 1.0  # shops stay where they are


# --- fraud patterns ---------------------------------------------------------------------------


def test_fraud_rate_and_pattern_mix(df: pd.DataFrame):
    assert 0.005 <= df.is_fraud.mean() <= 0.01
    shares = df.fraud_pattern.value_counts(normalize=True)
    assert set(shares.index) == set(FRAUD_PATTERNS)
    assert shares.between(0.08, 0.5).all()


def test_card_testing_is_bursts_of_small_amounts_at_new_merchants(df: pd.DataFrame):
    rows = df[df.fraud_pattern == "card_testing"]
    assert (rows.amount < 5).all()
    bursts = rows.groupby(["user_id", "merchant_id"]).timestamp.agg(["size", "min", "max"])
    assert (bursts["size"] >= 4).all()
    assert ((bursts["max"] - bursts["min"]) < pd.Timedelta(minutes=30)).all()
    assert (rows.channel == "online").mean() > 0.6
    legit = df[df.is_fraud == 0]
    new = [
        not ((legit.user_id == u) & (legit.merchant_id == m) & (legit.timestamp < t)).any()
        for (u, m), t in bursts["min"].items()
    ]
    assert np.mean(new) > 0.9


def test_account_takeover_uses_new_device_foreign_country_large_amounts(df, population):
    rows = df[df.fraud_pattern == "account_takeover"]
    legit = df[df.is_fraud == 0]
    seen = legit[legit.device_id.notna()].groupby("user_id").device_id.agg(set)
    assert all(
        d not in seen.get(u, set()) for u, d in zip(rows.user_id, rows.device_id, strict=True)
    )
    home = _home_country(df)
    assert (rows.country.to_numpy() != home.reindex(rows.user_id).to_numpy()).all()
    assert rows.amount.median() > 5 * legit.amount.median()
    night = _local_hour(rows, population) < 5
    assert night.mean() > 0.5 > 0.1 > (_local_hour(legit, population) < 5).mean()


def test_compromised_merchant_concentrates_fraud_on_few_merchants(df: pd.DataFrame):
    rows = df[df.fraud_pattern == "compromised_merchant"]
    per_merchant = rows.groupby("merchant_id").agg(
        victims=("user_id", "nunique"), span=("timestamp", lambda t: t.max() - t.min())
    )
    assert len(per_merchant) <= 3
    assert (per_merchant.victims >= 20).all()
    assert (per_merchant.span <= pd.Timedelta(days=31)).all()
    merchant_rate = df[df.merchant_id.isin(per_merchant.index)].groupby("merchant_id").is_fraud
    assert (merchant_rate.mean() > 20 * df.is_fraud.mean()).all()


def test_impossible_travel_implies_speed_over_1000_kmh(df: pd.DataFrame):
    present = df[df.channel != "online"]
    previous = present.groupby("user_id")[["lat", "lon", "timestamp"]].shift()
    km = world.haversine_km(previous.lat, previous.lon, present.lat, present.lon)
    hours = (present.timestamp - previous.timestamp).dt.total_seconds() / 3600
    speed = (km / hours)[present.fraud_pattern == "impossible_travel"]
    assert len(speed) > 20 and (speed > 1000).all()


# --- drift ------------------------------------------------------------------------------------


def test_drift_shifts_amounts_category_mix_and_night_share(population):
    kwargs = dict(seed=7, start="2026-03-05", days=14)
    plain = simulate(20_000, **kwargs).to_pandas()
    drifted = simulate(20_000, drift=True, **kwargs).to_pandas()
    assert set(DRIFT) == {"amount_inflation", "category_mix", "night_activity"}
    assert drifted.amount.mean() > 1.05 * plain.amount.mean()
    for category in ("grocery", "restaurant", "fuel", "online_retail"):
        ratio = (
            drifted.amount[drifted.merchant_category == category].median()
            / plain.amount[plain.merchant_category == category].median()
        )
        assert 1.6 < ratio < 2.0, category  # the documented x1.8
    share = lambda f, c: (f.merchant_category == c).mean()  # noqa: E731
    assert share(drifted, "digital_goods") > 1.2 * share(plain, "digital_goods")
    assert (drifted.channel == "online").mean() > (plain.channel == "online").mean() + 0.1
    night = lambda f: (_local_hour(f[f.is_fraud == 0], population) < 5).mean()  # noqa: E731
    assert night(drifted) > 2 * night(plain)


@pytest.mark.slow
def test_a_million_transactions_in_under_ten_seconds():
    began = time.perf_counter()
    table = simulate(1_000_000)
    assert table.num_rows == 1_000_000
    assert time.perf_counter() - began < 10.0


# --- the shipped sample data ------------------------------------------------------------------


def test_shipped_samples_are_consecutive_periods_of_one_world():
    from fraudcli.samples import DRIFT as DRIFT_FILE
    from fraudcli.samples import SCORE, TRAIN, sample_path

    paths = [sample_path(name) for name in (TRAIN, SCORE, DRIFT_FILE)]
    assert sum(p.stat().st_size for p in paths) < 20e6
    train = pq.read_table(paths[0])
    stream = pd.read_json(paths[1], lines=True, dtype=False)
    stream["timestamp"] = pd.to_datetime(stream.timestamp, format="%Y-%m-%dT%H:%M:%SZ", utc=True)
    drifted = pq.read_table(paths[2])
    assert train.schema == drifted.schema == SCHEMA
    assert (train.num_rows, len(stream), drifted.num_rows) == (200_000, 10_000, 50_000)
    train_end = pc.max(train.column("timestamp")).as_py()
    # txns.jsonl and drift.parquet are two futures of the training period
    assert train_end < stream.timestamp.min() <= stream.timestamp.max()
    assert train_end < pd.Timestamp(pc.min(drifted.column("timestamp")).as_py())
    ids = [train.column("transaction_id").to_pylist(), stream.transaction_id.tolist()]
    ids.append(drifted.column("transaction_id").to_pylist())
    assert len(set(ids[0]) | set(ids[1]) | set(ids[2])) == 260_000
    assert set(stream.user_id) <= set(train.column("user_id").to_pylist())
