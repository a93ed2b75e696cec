"""Simulator speed: 1M transactions (target: under 10 s)."""

from __future__ import annotations

from bench.common import figure, timed


def run() -> None:
    from fraudcli.simulation.simulate import simulate

    simulate(10_000)  # warm up imports and caches
    with timed() as t:
        table = simulate(1_000_000)
    figure("simulate 1,000,000 transactions", f"{t['seconds']:.2f} s", "target < 10 s")
    figure("  rate", f"{table.num_rows / t['seconds']:,.0f} txn/s")
