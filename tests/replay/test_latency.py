"""Latency recording and exact nearest-rank percentiles."""

from __future__ import annotations

import math

import numpy as np

from fraudcli.replay.latency import LatencyRecorder, percentiles


def test_recorder_grows_keeping_what_it_holds():
    rec = LatencyRecorder(2)
    rec.latency[:2] = [5, 7]
    rec.degraded[1] = True
    rec.grow()
    assert rec.capacity == 4 and rec.latency[:2].tolist() == [5, 7]
    assert rec.degraded.tolist() == [False, True, False, False]


def test_percentiles_are_exact_nearest_rank():
    values = np.random.default_rng(0).integers(0, 10**9, 1001)
    got = percentiles(values)
    ordered = np.sort(values)
    for q, value in ((50, got.p50), (90, got.p90), (99, got.p99), (99.9, got.p999)):
        assert value == ordered[math.ceil(q / 100 * len(values)) - 1] / 1e6
    assert got.max == ordered[-1] / 1e6
    assert percentiles(np.array([], dtype=np.int64)).p99 is None
