"""`fraud replay --workers N --state redis://...` on a real redis-server: N processes decide
what one decides (records split by user, one schedule), and one report counts them all."""

from __future__ import annotations

import binascii
import os
import subprocess
import sys
from collections import Counter

import numpy as np
from typer.testing import CliRunner

from fraudcli.cli.app import app
from fraudcli.config.load import load_config
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.partition import owner, worker_shares
from fraudcli.replay.pool import Tick
from fraudcli.replay.shared_loop import FAILED
from fraudcli.replay.workers import live_stats, replay_workers
from fraudcli.state.keeper import StateOptions


def test_a_user_belongs_to_one_worker_in_every_process():
    users = ("u1", "u2", "u3", "u004676")
    assert [owner(u, 3) for u in users] == [binascii.crc32(u.encode()) % 3 for u in users]
    code = f"from fraudcli.replay.partition import owner; print([owner(u, 3) for u in {users}])"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
        for seed in ("1", "2")
    }
    assert seen == {f"{[owner(u, 3) for u in users]}\n"}  # not Python's salted hash
    shares = worker_shares(["a", "b", "a", "c"], total=10, workers=2)
    runs = np.sort(np.concatenate(shares))
    assert runs.tolist() == list(range(10))
    for share in shares:  # run k is input record k % 4: the same user, the same worker
        users = {("a", "b", "a", "c")[k % 4] for k in share.tolist()}
        assert all(owner(u, 2) == owner(next(iter(users)), 2) for u in users)


def test_the_live_view_gets_a_rate_twice_a_second():
    shown = []
    on_tick = live_stats(shown.append)
    for elapsed, decided in ((0.1, 100), (0.6, 600), (0.8, 800), (1.2, 1400)):
        on_tick(Tick(elapsed, decided, degraded=3, p99_ms=1.5, pids=(11, 12)))
    assert [(s.decided, round(s.rate), s.degraded) for s in shown] == [
        (600, 1000, 3),
        (1400, 1333, 3),
    ]


def test_workers_without_a_shared_state_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(app, ["replay", "--workers", "2", "--state", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert "--workers needs a state that processes share" in result.output
    url = "redis://localhost:1/0"  # never reached: refused before
    result = CliRunner().invoke(
        app, ["replay", "--workers", "2", "--state", url, "--inject-latency", "5@0.1"]
    )
    assert result.exit_code == 2 and "--inject-latency does not go with --workers" in result.output


def test_two_workers_decide_what_one_decides(world, model_dir, redis_server):
    data, config = world / "later.jsonl", load_config()
    options = ReplayOptions(tps=3000.0)
    runs = {
        n: replay_workers(
            data,
            options,
            config=config,
            model_dir=model_dir,
            workers=n,
            state=StateOptions(f"{redis_server.unix_url}?prefix=w{n}:"),
        )  # fmt: skip
        for n in (1, 2)
    }
    one, two = runs[1].report, runs[2].report
    counts = ("read", "rejected", "decided", "degraded", "failed", "decisions")
    assert {c: getattr(two, c) for c in counts} == {c: getattr(one, c) for c in counts}
    assert one.read == one.decided + one.rejected and one.failed == 0 and one.degraded == 0
    assert sum(one.decisions.values()) == one.decided == 3000
    assert [w["records"] for w in two.workers] != [3000, 0]  # both had a share
    assert sum(w["records"] for w in two.workers) == 3000
    assert two.availability["availability"] == 1.0 and two.availability["lost_updates"] == 0
    by_id = runs[1].decision_of()
    assert runs[2].decision_of() == by_id and FAILED not in by_id.values()
    assert Counter(by_id.values()) == Counter(runs[2].decision_of().values())
