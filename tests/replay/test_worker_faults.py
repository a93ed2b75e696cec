"""Replay workers through faults, on a real redis-server: a worker killed (kill -9) mid-run,
Redis paused (SIGSTOP: time-outs) and Redis shut down then restarted from its RDB file
(refused connections). Every record is accounted for (read = decided + degraded + failed +
rejected), and afterwards the state holds every transaction exactly once: retried updates
are applied, resent ones are duplicates, none is lost or doubled. Counts only, no timings."""

from __future__ import annotations

import os
import signal
from collections import Counter

from fraudcli.config.load import load_config
from fraudcli.replay.inputs import bundle_pipeline
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.shared_loop import FAILED
from fraudcli.replay.workers import replay_workers
from fraudcli.state.keeper import StateOptions

N = 3000  # later.jsonl: 3,000 records, here at 1,000/s (5 s at 600/s around an outage)


def _start(url, model_dir) -> None:
    """The state started from the bundle's (whose transactions are all older than the run's)."""
    bundle_pipeline(load_config(), model_dir, False, None, StateOptions(url)).store.client.close()


def _held_once(client, run) -> None:
    """Every transaction of the run is in the state, once: its id is known, and each user's
    window holds as many entries in the run's time span as the run had records of the user."""
    txns = [run.feed(k) for k in range(len(run.decisions))]
    assert None not in client.hmget("fraud:tx", [t.transaction_id for t in txns])
    first, last = min(t.ts for t in txns), max(t.ts for t in txns)
    per_user = Counter(t.user_id for t in txns)
    pipe = client.pipeline(transaction=False)
    for user in per_user:
        pipe.get(f"fraud:ut:{user}")  # the user's entries, 6 fields each
    held = {}
    for user, text in zip(per_user, pipe.execute(), strict=True):
        times = [float(ts) for ts in text.split(b"\x1f")[2::6]]
        held[user] = sum(first <= ts <= last for ts in times)
    assert held == per_user


def _run(world, model_dir, url, on_tick, deadline_ms=None, tps=1000.0):
    options = ReplayOptions(tps=tps, deadline_ms=deadline_ms)
    return replay_workers(
        world / "later.jsonl", options, config=load_config(), model_dir=model_dir,
        state=StateOptions(url), workers=2, on_tick=on_tick,
    )  # fmt: skip


def _accounted(run) -> dict:
    report, a = run.report, run.report.availability
    assert report.read == N and report.rejected == 0
    assert report.read == a["decided"] + a["degraded"] + a["failed"] + report.rejected
    assert report.decided == a["decided"] + a["degraded"]  # answered, degraded included
    assert len(run.decision_of()) == N  # every record has its code (FAILED included)
    assert sum(report.decisions.values()) == report.decided
    return a


def _once_at(seconds: float, action):
    """An on_tick that runs `action(tick)` once, when the run is `seconds` old."""
    done = []

    def on_tick(tick):
        if not done and tick.elapsed_s >= seconds:
            done.append(action(tick))

    return on_tick


def test_a_worker_killed_mid_run_is_restarted_and_nothing_is_lost(world, model_dir, redis_server):
    _start(redis_server.unix_url, model_dir)
    kill = _once_at(1.0, lambda tick: os.kill(tick.pids[0], signal.SIGKILL))
    run = _run(world, model_dir, redis_server.unix_url, kill)
    a = _accounted(run)
    first = run.report.workers[0]
    assert first["restarts"] == 1 and first["errors"] >= 1
    assert "signal 9" in " ".join(first["messages"])
    # failed: the killed worker's records applied in Redis whose decisions it had not sent
    assert a["failed"] == list(run.decisions).count(FAILED) < N // 4
    assert a["degraded"] == 0 and run.report.workers[1]["restarts"] == 0
    _held_once(redis_server.client(), run)  # the resent ones were duplicates


def _outage(world, model_dir, server, stop, start):
    _start(server.unix_url, model_dir)
    stopped = []

    def on_tick(tick):
        if not stopped and tick.elapsed_s >= 0.5:
            stopped.append(stop())
        elif len(stopped) == 1 and tick.elapsed_s >= 2.5:
            stopped.append(start())

    run = _run(world, model_dir, server.unix_url, on_tick, deadline_ms=50, tps=600.0)
    assert len(stopped) == 2
    a = _accounted(run)
    assert a["failed"] == 0 and a["lost_updates"] == 0
    assert 0 < a["degraded"] < N and a["availability"] < 1.0  # rules only while away
    assert 1.0 < a["longest_gap_s"] < 4.0  # about the 2 s away
    workers = run.report.workers
    assert sum(w["reconnects"] for w in workers) >= 1
    assert sum(w["retried_updates"] for w in workers) > 0
    _held_once(server.client(), run)  # the deferred updates were applied, once


def test_redis_paused_for_two_seconds(world, model_dir, redis_server):
    _outage(world, model_dir, redis_server, redis_server.pause, redis_server.resume)


def test_redis_shut_down_and_restarted_from_its_snapshot(world, model_dir, make_redis_server):
    server = make_redis_server(persist=True)
    _outage(world, model_dir, server, server.shutdown, server.start)
