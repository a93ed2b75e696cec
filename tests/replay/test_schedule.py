"""Schedules: due times at a fixed rate or at recorded times, and the loop's time shift."""

from __future__ import annotations

import numpy as np
import pytest

from fraudcli.replay.schedule import FixedRate, Recorded, loop_shift


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
