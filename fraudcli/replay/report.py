"""The replay report: what was decided, how fast, how late; built from the recorder, as JSON.

Figures (latency, service time, lag, achieved rate) cover the measured records: those due at
or after `--warmup` seconds. Counts (decided, degraded, decisions) cover the whole run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fraudcli.errors import SLOError
from fraudcli.replay.latency import MS, LatencyRecorder, Percentiles, percentiles
from fraudcli.replay.options import PERCENTILE_DEFINITION

NS = 1_000_000_000
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Second:
    """One second of the run, by the records' due times."""

    second: int
    decided: int  # records due in this second
    completed: int  # decisions ready in this second (the throughput)
    degraded: int
    p99_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class ReplayReport:
    mode: str  # "tps", "speed" or "max"
    target_tps: float | None
    speed: float | None
    achieved_tps: float
    seconds: float  # measured wall time: warmup end -> last decision ready
    warmup_s: float
    read: int
    rejected: int
    decided: int
    measured: int
    degraded: int
    loops: int
    interrupted: bool
    decisions: dict[str, int]
    reject_reasons: dict[str, int]
    latency: Percentiles
    service: Percentiles
    max_lag_ms: float | None
    per_second: tuple[Second, ...]
    faults: dict
    percentile_method: str = PERCENTILE_DEFINITION
    # --workers N: records whose decision was lost (`decided` counts the others, degraded
    # included), each worker's figures, and availability (fraudcli.replay.merged)
    failed: int = 0
    workers: tuple[dict, ...] = ()
    availability: dict | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["per_second"] = [asdict(s) for s in self.per_second]
        return {"schema_version": SCHEMA_VERSION} | data


@dataclass(frozen=True)
class RunFacts:
    """What the engine knows besides the per-record arrays."""

    mode: str
    target_tps: float | None
    speed: float | None
    warmup_s: float
    read: int
    rejected: int
    reject_reasons: dict[str, int]
    decisions: dict[str, int]
    loops: int
    interrupted: bool
    faults: dict
    schedule_end_ns: int | None = None  # when the record after the last one would be due

    @classmethod
    def of_run(cls, options, rejected: int, reject_reasons: dict, **facts) -> RunFacts:
        """The facts of a replay run with `options` (`ReplayOptions`), and `facts`."""
        return cls(
            mode=options.mode,
            target_tps=options.tps,
            speed=options.speed,
            warmup_s=options.warmup,
            rejected=rejected,
            reject_reasons=dict(reject_reasons),
            **facts,
        )


def build_report(rec: LatencyRecorder, facts: RunFacts) -> ReplayReport:
    """Turn the recorded arrays into figures (vectorised, after the run)."""
    n = rec.count
    due, lat, svc = rec.due[:n], rec.latency[:n], rec.service[:n]
    keep = due >= int(facts.warmup_s * NS)
    m_lat, m_svc = lat[keep], svc[keep]
    seconds = _measured_seconds(due[keep], m_lat, facts.warmup_s, facts.schedule_end_ns)
    lag = m_lat - m_svc
    return ReplayReport(
        mode=facts.mode,
        target_tps=facts.target_tps,
        speed=facts.speed,
        achieved_tps=float(keep.sum()) / seconds if seconds > 0 else 0.0,
        seconds=seconds,
        warmup_s=facts.warmup_s,
        read=facts.read,
        rejected=facts.rejected,
        decided=n,
        measured=int(keep.sum()),
        degraded=int(rec.degraded[:n].sum()),
        loops=facts.loops,
        interrupted=facts.interrupted,
        decisions=dict(sorted(facts.decisions.items())),
        reject_reasons=facts.reject_reasons,
        latency=percentiles(m_lat),
        service=percentiles(m_svc),
        max_lag_ms=float(lag.max()) / MS if len(lag) else None,
        per_second=per_second(due, lat, rec.degraded[:n]),
        faults=facts.faults,
    )


def _measured_seconds(
    due: np.ndarray, latency: np.ndarray, warmup_s: float, schedule_end_ns: int | None
) -> float:
    """From the end of the warmup to the end of the scheduled window (N records at N/TPS
    take N/TPS seconds) or, if later, the moment the last decision was ready: a run that
    falls behind its schedule finishes late, and its achieved rate shows it."""
    if len(due) == 0:
        return 0.0
    end = max(int((due + latency).max()), schedule_end_ns or 0)
    return end / NS - warmup_s


def per_second(due: np.ndarray, latency: np.ndarray, degraded: np.ndarray) -> tuple[Second, ...]:
    """The run second by second (every record, warmup included), by due time."""
    if len(due) == 0:
        return ()
    sec, done = due // NS, (due + latency) // NS
    size = int(max(sec.max(), done.max())) + 1
    decided = np.bincount(sec, minlength=size)
    completed = np.bincount(done, minlength=size)
    bad = np.bincount(sec, weights=degraded, minlength=size)
    order = np.argsort(sec, kind="stable")
    bounds = np.searchsorted(sec[order], np.arange(size + 1))
    rows = []
    for s in range(size):
        chunk = latency[order[bounds[s] : bounds[s + 1]]]
        figures = percentiles(chunk)
        rows.append(
            Second(s, int(decided[s]), int(completed[s]), int(bad[s]), figures.p99, figures.max)
        )
    return tuple(rows)


def run_counts(report: ReplayReport) -> dict:
    """The counts of a replay, for its audit trail."""
    names = ("read", "rejected", "decided", "degraded", "decisions", "reject_reasons")
    counts = {name: getattr(report, name) for name in names}
    return counts | ({"failed": report.failed} if report.workers else {})


def check_slo(report: ReplayReport, slo_p99_ms: float | None) -> None:
    """Raise SLOError when the measured p99 latency is above `slo_p99_ms`."""
    p99 = report.latency.p99
    if slo_p99_ms is not None and p99 is not None and p99 > slo_p99_ms:
        raise SLOError(f"p99 latency {p99:.2f} ms is above the SLO of {slo_p99_ms:g} ms")


def write_report(report: ReplayReport, path: str | Path, audit: dict | None = None) -> None:
    """The whole report (and the run's audit trail) as JSON, written to a temp file and renamed
    into place."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    data = report.to_dict() | ({"audit": audit} if audit is not None else {})
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
