"""`fraud replay`: history replayed at a target rate through the real pipeline, with honest
latency (measured from each record's due time on an absolute schedule)."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "replay": "driver",
    "Fault": "faults",
    "SlowStore": "faults",
    "Percentiles": "latency",
    "percentiles": "latency",
    "LiveStats": "loop",
    "ReplayOptions": "options",
    "ReplayReport": "report",
    "Second": "report",
    "check_slo": "report",
    "write_report": "report",
    "load_records": "inputs",
    "replay_file": "run",
    "WorkersRun": "workers",
    "replay_workers": "workers",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
