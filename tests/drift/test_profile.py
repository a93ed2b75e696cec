"""Reference profiles: JSON round trip, determinism, ragged input refused."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fraudcli.drift.compare import compare_numeric
from fraudcli.drift.profile import Profile, build_profile, profile_numeric
from tests.helpers import MIX, categories, normal


def test_profile_json_round_trip():
    rng = np.random.default_rng(90)
    amount = rng.lognormal(3, 1, 20_000)
    amount[::50] = np.nan
    profile = build_profile(
        {"amount": amount, "flag": (rng.random(20_000) < 0.05).astype(float)},
        {"channel": categories(91, 20_000, MIX)},
        sample_size=1000,
    )
    text = json.dumps(profile.to_dict(), allow_nan=False)
    back = Profile.from_dict(json.loads(text))
    assert back.to_dict() == profile.to_dict()
    assert back.numeric["amount"].edges[0] == -math.inf
    assert back.numeric["amount"].edges[-1] == math.inf
    cur = rng.lognormal(3.2, 1, 5000)
    assert compare_numeric(back.numeric["amount"], cur) == compare_numeric(
        profile.numeric["amount"], cur
    )


def test_profile_is_deterministic_and_rejects_ragged_columns():
    values = normal(95, 30_000)
    assert np.array_equal(profile_numeric(values).sample, profile_numeric(values).sample)
    assert not np.array_equal(
        profile_numeric(values, seed=1).sample, profile_numeric(values).sample
    )
    with pytest.raises(ValueError, match="different lengths"):
        build_profile({"a": np.zeros(3)}, {"b": ["x"] * 4})
