"""`fraud replay --workers N --state redis://...`: replay workers sharing one redis-server on
this machine's cores. Figures are printed, never asserted.

First the machine's pause check (bench.bench_replay.machine_noise: read the tails against
it). Then, with a redis-server of the bench's own (Unix socket, persistence off), each run
starting from an empty state (`fresh`): the shipped sample looped at 10,000/s for 30 s with
1 and 2 workers (achieved rate, latency p50/p99/p99.9, round trips per record, what a record
costs in the workers' CPU and in Redis's time: what decides how far more workers go), and the
highest rate whose p99 stays under 200 ms for 1 and 2 workers (5 s runs at rising rates, until
two fail in a row).

    python -m bench replay_workers
    python -m bench.bench_replay_workers 10     # 10 s main runs instead of 30 s
"""

from __future__ import annotations

import sys

from bench import common

TARGET_TPS = 10_000.0
SECONDS = 30.0
SLO_MS = 200.0
SEARCH = (1_000.0, 2_000.0, 3_000.0, 4_000.0, 5_000.0, 6_000.0, 8_000.0, 10_000.0, 12_000.0)
SEARCH += (14_000.0, 16_000.0, 20_000.0, 24_000.0)
SEARCH_SECONDS = 5.0


def _replay(url: str, model, workers: int, tps: float, seconds: float, client=None):
    from fraudcli.config.load import load_config
    from fraudcli.replay.options import ReplayOptions
    from fraudcli.replay.workers import replay_workers
    from fraudcli.state.keeper import StateOptions

    options = ReplayOptions(tps=tps, duration=seconds, loop=True)
    state = StateOptions(url, fresh=True, overwrite=True)
    report = replay_workers(
        None, options, config=load_config(), model_dir=model, state=state, workers=workers
    ).report
    if client is not None:  # the server's time per record (a script call decides several)
        stats = client.info("commandstats").get("cmdstat_evalsha", {})
        client.config_resetstat()
        return report, stats.get("usec", 0.0) / max(report.decided + report.degraded, 1)
    return report


def _show(label: str, report, server_us: float) -> None:
    lat = report.latency
    trips = sum(w["round_trips"] for w in report.workers)
    common.figure(
        f"{label}: achieved / target",
        f"{report.achieved_tps:,.0f}/s, {report.achieved_tps / report.target_tps:.2%}",
    )
    common.figure(f"{label}: latency p50 / p99 / p99.9 (ms)",
                  f"{lat.p50:.2f} / {lat.p99:.2f} / {lat.p999:.2f}")  # fmt: skip
    common.figure(f"{label}: round trips per record", f"{trips / max(report.decided, 1):.3f}")
    cpu = sum(w["cpu_s"] for w in report.workers) / max(report.decided, 1)
    # (Redis times a command by its wall clock: time it was not scheduled counts in)
    common.figure(f"{label}: per record, workers' CPU / Redis's time (us)",
                  f"{cpu * 1e6:.1f} / {server_us:.1f}")  # fmt: skip
    rates = ", ".join(f"{w['rate']:,.0f}/s" for w in report.workers)
    common.figure(f"{label}: per worker; degraded / failed",
                  f"{rates}; {report.degraded:,} / {report.failed:,}")  # fmt: skip


def _highest(url: str, model, workers: int) -> str:
    """The highest rate that passed, trying rising rates until two fail in a row (one pause
    of a shared machine can fail a 5 s run at any rate)."""
    best, failed = None, 0
    for tps in SEARCH:
        report = _replay(url, model, workers, tps, SEARCH_SECONDS)
        p99 = report.latency.p99
        print(f"    {workers} worker(s) at {tps:,.0f}/s: p99 {p99:.1f} ms, "
              f"achieved {report.achieved_tps:,.0f}/s")  # fmt: skip
        if p99 >= SLO_MS or report.failed or report.degraded:
            failed += 1
            if failed == 2:
                break
        else:
            best, failed = tps, 0
    if best is None:
        return "none of the rates tried"
    return f"{best:,.0f}/s" + (" (the highest tried)" if best == SEARCH[-1] else "")


def run(seconds: float = SECONDS) -> None:
    from bench.bench_replay import machine_noise
    from tests.redis_server import HOW_TO_GET_REDIS, RedisServer, find_redis_server

    binary = find_redis_server()
    if binary is None:
        print(f"  skipped: {HOW_TO_GET_REDIS}")
        return
    machine_noise(10.0)
    model = common.trained_model()
    with RedisServer(binary) as server:
        client = server.client()
        client.config_resetstat()
        for workers in (1, 2):
            report, server_us = _replay(
                server.unix_url, model, workers, TARGET_TPS, seconds, client
            )
            _show(f"{workers} worker(s), 10,000/s for {seconds:g} s", report, server_us)
        machine_noise(10.0, ", after them")  # (the machine's speed drifts: bracket the runs)
        for workers in (1, 2):
            common.figure(f"{workers} worker(s): highest rate with p99 < {SLO_MS:g} ms",
                          _highest(server.unix_url, model, workers))  # fmt: skip


if __name__ == "__main__":
    run(float(sys.argv[1]) if len(sys.argv) > 1 else SECONDS)
