"""The simulator in chunks: the same table as one piece, exact row counts, bounded memory,
patterns that go on across chunk boundaries, and the three patterns that are not linear in any
single feature."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fraudcli.cli import app
from fraudcli.commands.simulate import simulate_file
from fraudcli.simulation import nonlinear, world
from fraudcli.simulation.simulate import (
    DEFAULT_MERCHANTS,
    DEFAULT_USERS,
    build_population,
    simulate,
    simulate_chunks,
)

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def chunked() -> list[pa.Table]:
    return list(simulate_chunks(40_000, seed=5, days=60, chunk_rows=7_000))


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return simulate(60_000, seed=7).to_pandas()


@pytest.fixture(scope="module")
def population():
    return build_population(7, DEFAULT_USERS, DEFAULT_MERCHANTS)


def test_chunks_are_consecutive_and_make_the_whole_table(chunked):
    assert len(chunked) == 6  # ceil(40,000 / 7,000), cut on whole days: 10 days each
    assert all(6_000 <= t.num_rows <= 7_000 for t in chunked)
    whole = pa.concat_tables(chunked)
    assert whole.equals(simulate(40_000, seed=5, days=60, chunk_rows=7_000))
    frame = whole.to_pandas()
    assert frame.timestamp.is_monotonic_increasing and frame.transaction_id.is_unique
    numbers = frame.transaction_id.str.rsplit("-", n=1).str[1].astype(int)
    assert numbers.tolist() == list(range(1, 40_001))
    stamps = [t.column("timestamp").to_pandas() for t in chunked]
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for i, part in enumerate(stamps):  # each chunk is its own 10 days
        assert start + i * 10 * DAY <= part.min() and part.max() < start + (i + 1) * 10 * DAY


def test_same_arguments_same_chunks(chunked):
    again = list(simulate_chunks(40_000, seed=5, days=60, chunk_rows=7_000))
    assert all(a.equals(b) for a, b in zip(chunked, again, strict=True))


@pytest.mark.parametrize(
    ("n", "days"), [(1, 60), (50, 0.01), (200_000, 0.01), (9_999, 3), (12_345, 0.5)]
)
def test_n_is_exact_whatever_the_period(n, days):
    table = simulate(n, days=days, seed=3)
    assert table.num_rows == n
    assert pa.compute.count_distinct(table.column("transaction_id")).as_py() == n


def test_exact_across_chunks_shorter_than_a_day():
    parts = list(simulate_chunks(30_001, days=0.5, chunk_rows=10_000))
    assert [t.num_rows for t in parts] == [7_500, 7_500, 7_500, 7_501]


def test_compromised_merchants_keep_their_window_across_chunks(chunked):
    frame = pa.concat_tables(chunked).to_pandas()
    rows = frame[frame.fraud_pattern == "compromised_merchant"]
    span = rows.groupby("merchant_id").timestamp.agg(lambda t: t.max() - t.min())
    assert span.max() > 10 * DAY  # longer than a chunk: the window went on across a cut
    assert (frame.fraud_pattern == "dormant_takeover").sum() > 20  # silences across cuts too
    assert 0.006 < frame.is_fraud.mean() < 0.0085


def _peak_bytes(n: int, tmp_path) -> int:
    tracemalloc.start()
    simulate_file(tmp_path / f"{n}.parquet", n, chunk_rows=50_000, days=300)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_is_bounded_by_the_chunk_not_by_n(tmp_path):
    small, large = _peak_bytes(100_000, tmp_path), _peak_bytes(600_000, tmp_path)
    assert large < 1.3 * small  # six times the rows, about the same peak
    assert pq.read_metadata(tmp_path / "600000.parquet").num_rows == 600_000


def test_cli_writes_exactly_n_rows(tmp_path):
    out = tmp_path / "short.csv"
    result = CliRunner().invoke(app, ["simulate", "-n", "20000", "--days", "0.01", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 20,000 transactions" in result.output
    assert len(pd.read_csv(out)) == 20_000


# --- the patterns that no single feature separates linearly ------------------------------------


def _pattern(df: pd.DataFrame, name: str) -> pd.DataFrame:
    rows = df[df.fraud_pattern == name]
    assert len(rows) >= 20, name
    return rows


def _user_index(frame: pd.DataFrame) -> np.ndarray:
    return frame.user_id.str[1:].astype(int).to_numpy()


def test_gift_card_cashout_is_a_step_in_amount_on_the_victims_own_device(df, population):
    rows = _pattern(df, "gift_card_cashout")
    assert rows.amount.between(300, 600).all() and (rows.amount % 10 == 0).all()
    assert (rows.merchant_category == "digital_goods").all()
    user = _user_index(rows)
    own = population.device_ids[population.user_devices[user, 0]]
    assert (rows.device_id.to_numpy() == own).all()
    home = world.CITY_COUNTRY[population.user_city[user]]
    assert (rows.country.to_numpy() == home).all()
    legit_gifts = df[(df.is_fraud == 0) & (df.merchant_category == "digital_goods")]
    assert (legit_gifts.amount >= 300).mean() < 0.01  # legitimate gift cards stay small


def test_atm_night_cashout_is_night_times_a_large_withdrawal_at_home(df, population):
    rows = _pattern(df, "atm_night_cashout")
    assert (rows.channel == "atm").mean() > 0.95
    assert rows.amount.between(400, 800).all() and (rows.amount % 20 == 0).all()
    city = population.user_city[_user_index(rows)]
    local = (rows.timestamp.dt.hour + rows.timestamp.dt.minute / 60) + world.CITY_UTC_OFFSET[city]
    low, high = nonlinear.ATM_NIGHT_HOURS
    assert ((local % 24) >= low).all() and ((local % 24) < high + 0.5).all()
    cash = df[(df.is_fraud == 0) & (df.channel == "atm")]
    cash_city = population.user_city[_user_index(cash)]
    hour = (cash.timestamp.dt.hour + world.CITY_UTC_OFFSET[cash_city]) % 24
    night, large = hour.between(low, high - 1).to_numpy(), (cash.amount >= 400).to_numpy()
    assert night.sum() > 50 and large.sum() > 50  # each half of the signal happens alone...
    assert (night & large).sum() < 0.1 * min(night.sum(), large.sum())  # ...rarely together


def test_dormant_takeover_breaks_a_quiet_users_habit(df):
    rows = _pattern(df, "dormant_takeover")
    legit = df[df.is_fraud == 0]
    first = rows.groupby("user_id").timestamp.min()
    for user, when in first.items():
        before = legit[(legit.user_id == user) & (legit.timestamp < when)].timestamp
        quiet = when - before.max()
        assert pd.Timedelta(days=10) <= quiet <= pd.Timedelta(days=25), user
    usual = legit.groupby("user_id").amount.median()
    ratio = rows.amount.to_numpy() / usual.reindex(rows.user_id).to_numpy()
    assert np.median(ratio) > 3
    assert (rows.channel == "online").all()
