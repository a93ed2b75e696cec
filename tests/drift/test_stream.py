"""Streaming accumulators equal the one-shot comparison whatever the batching."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.drift.compare import compare_categorical, compare_numeric
from fraudcli.drift.profile import profile_categorical, profile_numeric
from fraudcli.drift.sample import BottomK, bottom_k_sample
from fraudcli.drift.stream import CategoricalAccumulator, NumericAccumulator
from tests.helpers import MIX, categories, normal


def batches(values, seed: int):
    cuts = np.sort(np.random.default_rng(seed).integers(0, len(values), 7))
    return np.split(values, cuts)


@pytest.mark.parametrize("n", [8000, 60_000])  # within and beyond the reservoir
def test_accumulator_equals_one_shot(n):
    ref = profile_numeric(normal(100, 20_000))
    cur = normal(101, n, loc=0.2)
    cur[::7] = np.nan
    acc = NumericAccumulator(ref, reservoir_size=10_000)
    for batch in batches(cur, seed=102):
        acc.add(batch)
    streamed, one_shot = acc.result(), compare_numeric(ref, cur)
    assert streamed.psi == pytest.approx(one_shot.psi, rel=1e-12)
    assert streamed.cur_hist == one_shot.cur_hist
    assert streamed.missing_rate_cur == one_shot.missing_rate_cur
    if n <= 10_000:
        assert streamed == one_shot
    else:
        assert streamed.ks_n_cur == 10_000
        assert streamed.ks_stat == pytest.approx(one_shot.ks_stat, abs=0.02)


def test_categorical_accumulator_equals_one_shot():
    ref = profile_categorical(categories(110, 5000, MIX))
    cur = np.concatenate([categories(111, 6000, MIX), ["new"] * 40]).astype(object)
    cur[::9] = None
    acc = CategoricalAccumulator(ref)
    for batch in batches(cur, seed=112):
        acc.add(batch)
    assert acc.result() == compare_categorical(ref, cur)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 3000),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
    size=st.integers(1, 500),
)
def test_reservoir_sample_does_not_depend_on_batching(n, cuts, size):
    values = normal(n, n)
    values[::5] = np.nan
    sample = BottomK(size, seed=3)
    for batch in np.split(values, sorted(c for c in cuts if c <= n)):
        sample.add(batch)
    expected = bottom_k_sample(values, size, seed=3)
    assert np.array_equal(sample.sorted_values(), expected)
    assert len(expected) == min(size, int(np.isfinite(values).sum()))
