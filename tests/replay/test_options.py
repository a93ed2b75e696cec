"""Replay options: contradictions and impossible values are usage errors."""

from __future__ import annotations

import pytest

from fraudcli.errors import UsageError
from fraudcli.replay.driver import replay
from fraudcli.replay.options import ReplayOptions
from tests.helpers import FakePipeline, FakeStore, records


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
