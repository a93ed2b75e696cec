"""Helpers the tests share: CLI runs, fake pipelines for replay, random streams of records,
small data builders. Not a test file: nothing here is collected."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from hypothesis import strategies as st
from typer.testing import CliRunner

from fraudcli.cli import app
from fraudcli.features.spec import DAY, FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreTimeout
from fraudcli.io.read import read_batches
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.schema import Txn
from fraudcli.replay.driver import replay
from fraudcli.replay.options import ReplayOptions

runner = CliRunner()


GOOD = {"transaction_id": "t1", "timestamp": "2026-01-01T10:00:00Z", "user_id": "u1", "amount": 5}


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class FakeDecision:
    decision: str
    degraded: bool = False
    fraud_probability: float | None = None
    reasons: tuple = ()


@dataclass
class FakeStore:
    """Instant lookups; `stalls` maps a lookup number to seconds of stall."""

    stalls: dict[int, float] = field(default_factory=dict)
    lookups: int = 0
    updated: list = field(default_factory=list)
    ids: IdRegistry = field(default_factory=IdRegistry)  # what replay finds duplicates by

    def lookup(self, txn: Txn) -> list[float]:
        stall = self.stalls.get(self.lookups)
        self.lookups += 1
        if stall:
            time.sleep(stall)
        return [txn.amount]

    def update(self, txn: Txn) -> None:
        self.updated.append(txn)


@dataclass
class FakePipeline:
    """The surface replay needs from fraudcli.pipeline.Pipeline, with no model."""

    store: FakeStore
    seen_at: list = field(default_factory=list)
    service_s: float = 0.0
    interrupt_at: int | None = None

    def decide(self, txn: Txn):
        try:
            features = self.observe(txn)
        except StoreTimeout:
            return [], self.decide_degraded(txn)
        return features, self.judge_many([txn], [features])[0]

    def observe(self, txn: Txn) -> list[float]:
        if self.interrupt_at is not None and len(self.seen_at) == self.interrupt_at:
            raise KeyboardInterrupt
        self.seen_at.append(time.perf_counter_ns())
        features = self.store.lookup(txn)  # StoreTimeout goes to the caller, as in Pipeline
        if self.service_s:
            time.sleep(self.service_s)
        self.store.update(txn)
        return features

    def judge_many(self, txns: list[Txn], features: list) -> list[FakeDecision]:
        return [FakeDecision("BLOCK" if txn.amount > 500 else "ALLOW") for txn in txns]

    def decide_degraded(self, txn: Txn) -> FakeDecision:
        self.store.update(txn)
        return FakeDecision("REVIEW", degraded=True)


def records(n: int, gap_s: float = 1.0) -> list[Txn]:
    return [Txn(f"t{i}", 1.7e9 + i * gap_s, f"u{i % 7}", float(i % 1000)) for i in range(n)]


T0 = 1767225600.0  # 2026-01-01T00:00:00Z


def txn(i, ts, user="u", amount=10.0, merchant="m", country="US", device="d", label=0, loc=None):
    lat, lon = loc if loc else (None, None)
    return Txn(f"t{i}", ts, user, amount, merchant, None, country, lat, lon, device, None, label)


def one_record(stream, config):
    store = InMemoryStore(config)
    rows = []
    for t in stream:
        rows.append(store.lookup(t))
        store.update(t)
    return np.asarray(rows, dtype=np.float64).reshape(len(stream), len(FEATURE_NAMES)), store


def assert_features_equal(got, want):
    assert got.shape == want.shape and got.dtype == np.float64
    for j, name in enumerate(FEATURE_NAMES):
        np.testing.assert_allclose(got[:, j], want[:, j], rtol=1e-9, atol=1e-9, err_msg=name)


DELAY = 2 * DAY


gaps = st.sampled_from(
    [0.0, 0.0, 1.0, 59.0, 3599.0, 3600.0, 3601.0, DAY, DELAY, DELAY + DAY, 7 * DAY, 30 * DAY]
    + [DELAY + 7 * DAY, DELAY + 30 * DAY, 12 * DAY]
)


record = st.tuples(
    gaps,
    st.sampled_from(["u1", "u2", "u3"]),
    st.integers(0, 50_000).map(lambda cents: cents / 100),  # money: whole cents
    st.sampled_from(["m1", "m2", None]),
    st.sampled_from(["US", "FR", None]),
    st.sampled_from(["d1", "d2", None]),
    st.sampled_from([0, 1, None]),
    st.sampled_from([None, (48.85, 2.35), (40.71, -74.0), (40.72, -74.0)]),
    st.floats(-3 * DAY, 0),  # for follow-up records: behind the clock, up to `lateness`
)


def build(records, clock=T0, late=False, first=0):
    stream = []
    for i, (gap, user, amount, merchant, country, device, label, loc, behind) in enumerate(records):
        clock += gap
        ts = clock + (behind if late else 0.0)
        stream.append(txn(first + i, ts, user, amount, merchant, country, device, label, loc))
    return stream


def normal(seed: int, n: int, loc: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(loc, 1.0, n)


def categories(seed: int, n: int, shares: dict[str, float]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(list(shares), size=n, p=list(shares.values()))


MIX = {"pos": 0.5, "web": 0.3, "atm": 0.15, "moto": 0.05}


def line(**changes) -> bytes:
    return json.dumps(GOOD | changes).encode()


def items_of(path, columns=None):
    return [item for batch in read_batches(path, columns) for item in batch]


def replay_fake(n=2000, stalls=None, **options):
    """Replay `n` records at `options` through a fake pipeline (stalls: record -> seconds)."""
    pipeline = FakePipeline(FakeStore(stalls or {}))
    report = replay(records(n), pipeline, ReplayOptions(**options))
    return report, pipeline


def chunk_data(txns) -> dict[str, pa.Array]:
    """A list of txns as the columns `ColumnState.chunk` codes."""

    def column(name, kind):
        return pa.array([getattr(t, name) for t in txns], kind)

    return {
        "ts": column("ts", pa.float64()),
        "amount": column("amount", pa.float64()),
        "is_fraud": column("is_fraud", pa.int8()),
        "lat": column("lat", pa.float64()),
        "lon": column("lon", pa.float64()),
        "user_id": column("user_id", pa.string()),
        "merchant_id": column("merchant_id", pa.string()),
        "country": column("country", pa.string()),
        "device_id": column("device_id", pa.string()),
    }


def continued(state, chunks) -> np.ndarray:
    """The features of each chunk of txns in turn through `ColumnState.step` (none refused)."""
    parts = []
    for txns in chunks:
        X = state.step(state.chunk(chunk_data(txns)))
        assert X is not None
        parts.append(X)
    return np.concatenate(parts) if parts else np.zeros((0, 26))
