"""`fraud replay`: history replayed at a target rate through the real pipeline, with honest
latency (measured from each record's due time on an absolute schedule)."""

from __future__ import annotations

from fraudcli.replay.driver import replay
from fraudcli.replay.faults import Fault, SlowStore
from fraudcli.replay.latency import Percentiles, percentiles
from fraudcli.replay.loop import LiveStats
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.report import ReplayReport, Second, check_slo, write_report
from fraudcli.replay.run import load_records, replay_file

__all__ = [
    "Fault",
    "LiveStats",
    "Percentiles",
    "ReplayOptions",
    "ReplayReport",
    "Second",
    "SlowStore",
    "check_slo",
    "load_records",
    "percentiles",
    "replay",
    "replay_file",
    "write_report",
]
