"""One-line histograms."""

from __future__ import annotations

import math

from fraudcli.cli.sparkline import sparkline


def test_sparkline():
    assert sparkline([0.0, 0.25, 0.5, 1.0]) == " ▂▄█"
    assert sparkline([0.1, 0.2], top=0.8) == "▁▂"
    assert sparkline([]) == ""
    assert sparkline([math.nan, 0.0]) == "  "
