"""fraud replay: pacing, honest latency, deadlines, the report, the CLI (on a fake pipeline)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from fraudcli.errors import SLOError, UsageError
from fraudcli.features.store import StoreTimeout
from fraudcli.records.schema import Txn
from fraudcli.replay import (
    Fault,
    ReplayOptions,
    SlowStore,
    check_slo,
    percentiles,
    replay,
    write_report,
)
from fraudcli.replay.latency import LatencyRecorder
from fraudcli.replay.schedule import FixedRate, Recorded, loop_shift

# These tests measure wall-clock time on a shared VM that can pause a process for 10-50 ms:
# an assertion that fails on such a pause gets two more tries; a real fault fails all three.
pytestmark = pytest.mark.flaky(reruns=2, only_rerun=["AssertionError"])


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


def run(n=2000, stalls=None, **options):
    pipeline = FakePipeline(FakeStore(stalls or {}))
    report = replay(records(n), pipeline, ReplayOptions(**options))
    return report, pipeline


# --- schedule -------------------------------------------------------------------------------


@pytest.mark.parametrize("tps", [1.0, 3.0, 997.0, 10_000.0, 33_333.3])
def test_fixed_rate_count_due_agrees_with_due_times(tps):
    schedule = FixedRate(tps)
    rng = np.random.default_rng(1)
    for elapsed in rng.integers(0, 5 * 10**9, 300).tolist() + [0, schedule.due(17)]:
        n = schedule.count_due(elapsed)
        assert schedule.due(n - 1) <= elapsed < schedule.due(n)
    k = int(tps * 3)
    assert schedule.due(k) == pytest.approx(k * 1e9 / tps, abs=1)  # no drift over 3 s


def test_recorded_schedule_keeps_spacing_and_loops_after_the_span():
    ts = [100.0, 100.1, 100.15, 100.4]
    schedule = Recorded(ts, speed=10.0, shift_s=loop_shift(ts))
    assert [schedule.due(k) for k in range(4)] == [0, 10_000_000, 15_000_000, 40_000_000]
    # the second pass starts one mean gap (0.4 / 3 s, x10 faster) after the last record
    assert schedule.due(4) == pytest.approx(40e6 + 0.4 / 3 / 10 * 1e9, abs=2)
    assert schedule.count_due(schedule.due(5)) == 6
    assert schedule.dues(np.arange(8)).tolist() == [schedule.due(k) for k in range(8)]


def test_unsorted_timestamps_are_due_with_their_predecessor():
    schedule = Recorded([10.0, 12.0, 11.0, 13.0], speed=1.0, shift_s=4.0)
    assert [schedule.due(k) for k in range(4)] == [0, 2 * 10**9, 2 * 10**9, 3 * 10**9]


# --- pacing ---------------------------------------------------------------------------------


def test_pacing_holds_the_target_rate_on_an_instant_pipeline():
    report, pipeline = run(n=5000, tps=4000.0, duration=1.0)
    assert report.decided == 4000
    assert report.achieved_tps == pytest.approx(4000.0, rel=0.005)
    # the records really went through at that pace: 4000 over ~1 s of wall time
    span = (pipeline.seen_at[-1] - pipeline.seen_at[0]) / 1e9
    assert span == pytest.approx(3999 / 4000, rel=0.02)
    assert report.latency.p50 < 2.0  # ~1 ms batches: a record waits ~0.5 ms for its batch
    assert [s.decided for s in report.per_second] == [4000] + [0] * (len(report.per_second) - 1)


def test_speed_keeps_the_recorded_spacing():
    recorded = [0.0, 0.1, 0.1, 0.4, 0.42, 1.2]
    txns = [Txn(f"t{i}", 1.7e9 + t, "u", 1.0) for i, t in enumerate(recorded)]
    pipeline = FakePipeline(FakeStore())
    replay(txns, pipeline, ReplayOptions(speed=2.0))
    seen = (np.array(pipeline.seen_at) - pipeline.seen_at[0]) / 1e9
    np.testing.assert_allclose(seen, np.array(recorded) / 2.0, atol=0.01)


def test_max_mode_latency_is_from_when_the_loop_reaches_a_record():
    """No schedule: a record is due when the loop reaches it, and decided with its batch, so
    its latency is its own service time plus the rest of its batch's lookups."""
    report, _ = run(n=3000, max_rate=True)
    assert report.decided == 3000 and report.mode == "max"
    service = report.service.to_dict()
    for name, value in report.latency.to_dict().items():
        assert value >= service[name], name
    assert report.achieved_tps > 20_000


def test_max_mode_runs_for_the_duration_when_looping():
    report, _ = run(n=50, max_rate=True, loop=True, duration=0.2)
    assert report.decided > 500 and report.loops == -(-report.decided // 50)
    assert report.seconds == pytest.approx(0.2, abs=0.05)


def test_recorder_grows_keeping_what_it_holds():
    rec = LatencyRecorder(2)
    rec.latency[:2] = [5, 7]
    rec.degraded[1] = True
    rec.grow()
    assert rec.capacity == 4 and rec.latency[:2].tolist() == [5, 7]
    assert rec.degraded.tolist() == [False, True, False, False]


def test_loop_shifts_timestamps_and_makes_ids_unique():
    pipeline = FakePipeline(FakeStore())
    txns = records(5, gap_s=2.0)
    report = replay(txns, pipeline, ReplayOptions(tps=2000.0, limit=12, loop=True))
    seen = pipeline.store.updated
    assert report.decided == 12 and report.loops == 3
    assert [t.transaction_id for t in seen[4:7]] == ["t4", "t0~2", "t1~2"]
    assert len({t.transaction_id for t in seen}) == 12
    assert np.all(np.diff([t.ts for t in seen]) == pytest.approx(2.0))  # the clock keeps moving


# --- honest latency -------------------------------------------------------------------------


def test_latency_counts_the_queue_behind_a_stall():
    # one 100 ms stall at 2,000/s: ~200 records queue behind it, each late by up to 100 ms
    report, _ = run(n=2000, stalls={500: 0.1}, tps=2000.0, duration=1.0)
    assert report.decided == 2000
    assert report.latency.p99 > 80.0  # far more than the one stalled record (0.05%)
    assert report.latency.max == pytest.approx(100.0, abs=15.0)
    assert report.service.p99 < 5.0  # time inside the pipeline alone hides the stall
    assert report.service.max >= 100.0
    assert report.max_lag_ms > 90.0
    assert report.achieved_tps == pytest.approx(2000.0, rel=0.005)


def test_warmup_is_left_out_of_the_figures():
    report, _ = run(n=2000, stalls={100: 0.1}, tps=2000.0, duration=1.0, warmup=0.3)
    assert report.decided == 2000 and report.measured == 1400
    assert report.latency.max < 10.0  # the stall and its queue happened during the warmup
    assert report.per_second[0].max_ms > 90.0  # ...but the per-second series shows it


# --- faults and deadlines -------------------------------------------------------------------


def test_slow_store_is_seeded_and_hits_the_fraction():
    def stalled(seed):
        store = SlowStore(FakeStore(), Fault(0.0, 0.1), seed=seed)
        return [store.injected for _ in range(2000) if store.lookup(records(1)[0]) or True]

    assert stalled(3) == stalled(3) and stalled(3) != stalled(4)
    assert 150 <= stalled(3)[-1] <= 250


def test_slow_store_gives_up_at_the_deadline():
    store = SlowStore(FakeStore(), Fault(50.0, 1.0), seed=0)
    store.deadline_ns = time.perf_counter_ns() + 5_000_000
    started = time.perf_counter()
    with pytest.raises(StoreTimeout):
        store.lookup(records(1)[0])
    assert 0.004 < time.perf_counter() - started < 0.02
    assert store.timeouts == 1


def test_deadline_gives_degraded_decisions_in_time():
    fault = Fault(50.0, 0.2)
    report, pipeline = run(n=300, tps=500.0, deadline_ms=10.0, fault=fault, seed=1)
    assert report.decided == 300
    assert 30 <= report.faults["injected"] == report.faults["timeouts"] <= 90
    # the rest of the degraded records were reached after their deadline (queued behind)
    assert report.faults["timeouts"] <= report.degraded == report.decisions["REVIEW"]
    assert report.latency.p99 == pytest.approx(10.0, abs=5.0)  # answered near the deadline
    assert len(pipeline.store.updated) == 300  # degraded records still update the state


def test_records_already_late_go_straight_to_the_rules():
    pipeline = FakePipeline(FakeStore(), service_s=0.004)  # slower than the 2 ms spacing
    report = replay(records(150), pipeline, ReplayOptions(tps=500.0, deadline_ms=6.0))
    assert report.decided == 150 and report.degraded > 30
    # bounded near deadline + one service time; without a deadline it reaches ~300 ms
    assert report.latency.p99 < 25.0
    assert report.achieved_tps == pytest.approx(500.0, rel=0.05)


def test_without_deadline_injected_delays_are_fully_waited():
    report, _ = run(n=200, tps=1000.0, fault=Fault(20.0, 0.05), seed=2)
    assert report.degraded == 0 and report.faults["injected"] > 0
    assert report.service.max >= 20.0


def test_fault_parse():
    assert Fault.parse("5@0.01") == Fault(5.0, 0.01)
    for bad in ("5", "x@0.1", "5@2", "-1@0.5"):
        with pytest.raises(UsageError):
            Fault.parse(bad)


# --- percentiles, report, SLO, interruption -------------------------------------------------


def test_percentiles_are_exact_nearest_rank():
    values = np.random.default_rng(0).integers(0, 10**9, 1001)
    got = percentiles(values)
    ordered = np.sort(values)
    for q, value in ((50, got.p50), (90, got.p90), (99, got.p99), (99.9, got.p999)):
        assert value == ordered[math.ceil(q / 100 * len(values)) - 1] / 1e6
    assert got.max == ordered[-1] / 1e6
    assert percentiles(np.array([], dtype=np.int64)).p99 is None


def test_json_report_schema(tmp_path):
    report, _ = run(n=400, tps=2000.0)
    path = tmp_path / "r.json"
    write_report(report, path)
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1 and data["mode"] == "tps"
    ints = ("read", "rejected", "decided", "measured", "degraded", "loops")
    assert all(type(data[key]) is int for key in ints)
    assert data["decided"] == 400 and data["read"] == 400
    floats = ("target_tps", "achieved_tps", "seconds", "warmup_s", "max_lag_ms")
    assert all(type(data[key]) is float for key in floats)
    for kind in ("latency", "service"):
        assert set(data[kind]) == {"p50", "p90", "p99", "p999", "max"}
        assert all(type(v) is float for v in data[kind].values())
    assert sum(data["decisions"].values()) == 400
    second = data["per_second"][0]
    assert set(second) == {"second", "decided", "completed", "degraded", "p99_ms", "max_ms"}
    assert data["interrupted"] is False and "nearest rank" in data["percentile_method"]


def test_slo_check():
    report, _ = run(n=200, stalls={10: 0.05}, tps=1000.0)
    check_slo(report, 100.0)
    with pytest.raises(SLOError):
        check_slo(report, 1.0)


def test_ctrl_c_ends_with_the_report_so_far():
    pipeline = FakePipeline(FakeStore(), interrupt_at=120)
    report = replay(records(500), pipeline, ReplayOptions(tps=2000.0))
    assert report.interrupted and report.decided == 120
    assert report.latency.p50 is not None


@pytest.mark.parametrize(
    "options",
    [
        ReplayOptions(),
        ReplayOptions(tps=10.0, max_rate=True),
        ReplayOptions(tps=-1.0),
        ReplayOptions(tps=10.0, loop=True),
        ReplayOptions(tps=10.0, duration=1.0, warmup=1.0),
    ],
)
def test_bad_options_are_usage_errors(options):
    with pytest.raises(UsageError):
        replay(records(3), FakePipeline(FakeStore()), options)
