"""One report from the workers of `fraud replay --workers N`: exact percentiles over every
record of every worker (their per-record arrays put together), each worker's rate and errors,
and availability.

Accounting: each record of the run is decided (with features), degraded (rules only), or
failed (its decision was lost with a killed worker, or never made); with the records rejected
before the clock, `read = decided + degraded + failed + rejected` (one pass over the data).
Availability is the share of the run's records decided with features; the longest gap is the
longest time, by due time, between two records decided with features.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fraudcli.replay.latency import LatencyRecorder
from fraudcli.replay.report import NS, ReplayReport, RunFacts, build_report
from fraudcli.replay.shared_loop import CODES, FAILED

NAMES = {code: name for name, code in CODES.items()}
FIELDS = ("runs", "due", "latency", "service", "degraded", "code")


class Merged:
    """Every record's arrays, in run order (`runs` ascending), from the workers' parts."""

    def __init__(self, parts: list[dict]) -> None:
        if parts:
            joined = {name: np.concatenate([p[name] for p in parts]) for name in FIELDS}
        else:
            joined = {name: np.zeros(0, dtype=np.int64) for name in FIELDS}
        order = np.argsort(joined["runs"], kind="stable")
        for name in FIELDS:
            setattr(self, name, joined[name][order])

    def decisions_by_run(self, total: int) -> np.ndarray:
        """The decision code of each record of the run (FAILED where none came back)."""
        codes = np.full(total, FAILED, dtype=np.int8)
        codes[self.runs] = self.code
        return codes


def merged_report(
    merged: Merged, total: int, facts: RunFacts, workers: list[dict], lost_updates: int
) -> ReplayReport:
    """The report of the run: the figures over the answered records (degraded included), the
    counts over all `total` records of the run."""
    answered = merged.code != FAILED
    order = np.argsort(merged.due[answered], kind="stable")
    rec = LatencyRecorder(int(answered.sum()))
    for name in ("due", "latency", "service", "degraded"):
        getattr(rec, name)[:] = getattr(merged, name)[answered][order]
    rec.count = len(order)
    codes = merged.code[answered]
    kinds, counts = np.unique(codes, return_counts=True)
    decisions = {NAMES[int(c)]: int(n) for c, n in zip(kinds, counts, strict=True)}
    report = build_report(rec, dataclasses.replace(facts, decisions=decisions))
    failed = total - rec.count
    full = answered & ~merged.degraded
    seconds = report.seconds or 1.0
    rows = tuple(w | {"rate": round(w["answered"] / seconds, 1)} for w in workers)
    return dataclasses.replace(
        report,
        failed=failed,
        workers=rows,
        availability={
            "records": total,
            "decided": int(full.sum()),
            "degraded": report.degraded,
            "failed": failed,
            "availability": float(full.sum()) / total if total else 1.0,
            "longest_gap_s": _longest_gap(merged.due[full], merged.due),
            "lost_updates": lost_updates,
        },
    )


def _longest_gap(full: np.ndarray, due: np.ndarray) -> float | None:
    """Seconds, by due time, between two records decided with features, or between the run's
    first or last record and the nearest one (None: a run of one record)."""
    if len(due) < 2:
        return None
    bounds = np.array([due.min(), due.max()], dtype=np.int64)
    return float(np.diff(np.sort(np.concatenate([full, bounds]))).max()) / NS
