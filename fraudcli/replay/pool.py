"""The parent of `fraud replay --workers N`: starts the worker processes, gives them one T0,
gathers what they decide, and restarts a worker that dies.

Workers are started with multiprocessing's spawn (a fresh interpreter each: no state copied
from this process). Each sends its results every 0.1 s; when one dies (kill -9, a crash) its
records not yet sent are given to a new worker, on the same schedule: those due before are
retries, whose earlier attempt may have been applied in Redis (then the store's answer is a
duplicate and the record counts as failed: its decision was lost with the worker). A worker
is restarted at most `MAX_RESTARTS` times, after a pause that doubles each time (a worker
cannot start while Redis is away); after that its records left count as failed. The parent
never waits on one worker: the others go on sending while a new one starts.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait

import numpy as np

from fraudcli.errors import FraudError
from fraudcli.replay.latency import p99_ms
from fraudcli.replay.schedule import NS, Schedule
from fraudcli.replay.worker import WorkerPlan, worker_main

MAX_RESTARTS = 5
RESTART_PAUSE_S = 0.25  # before the first restart of a worker; doubled each time, up to 2 s
START_SECONDS = 120.0  # for a worker to load the bundle and the data
START_MARGIN_NS = 50_000_000  # T0 this far after the last worker is ready
STOP_SECONDS = 10.0  # for workers to finish after "stop" (Ctrl-C)


@dataclass(frozen=True)
class Tick:
    """What the parent sees, every 0.1 s or so: for progress views and fault tests."""

    elapsed_s: float
    decided: int  # answered so far, degraded included
    degraded: int
    p99_ms: float  # of the records received since the last tick (NaN: none)
    pids: tuple[int | None, ...]


@dataclass
class Slot:
    """One worker's share and its history: the process that holds it now, what came back."""

    plan: WorkerPlan
    runs: np.ndarray
    parts: list[dict] = field(default_factory=list)
    reported: int = 0
    restarts: int = 0
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # of the link, over its processes
    latest: dict[str, int] = field(default_factory=dict)  # the live process's, as last sent
    process: multiprocessing.process.BaseProcess | None = None
    conn: object = None
    pid: int | None = None
    done: bool = False
    pending: tuple = ()  # (runs, retry flags) for the worker being restarted
    respawn_at: float = 0.0  # monotonic seconds


class Pool:
    def __init__(self, plans: list[WorkerPlan], shares: list[np.ndarray], schedule) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.slots = [Slot(plan, runs) for plan, runs in zip(plans, shares, strict=True)]
        self.schedule: Schedule | None = schedule
        self.t0 = 0
        self.interrupted = False
        self._recent: list[np.ndarray] = []
        self._degraded = 0

    def run(self, on_tick: Callable[[Tick], None] | None = None) -> None:
        """Start, gather until every share is decided or given up, stop what is left."""
        try:
            for slot in self.slots:
                self._spawn(slot)
            for slot in self.slots:
                self._await_ready(slot)
            self.t0 = time.monotonic_ns() + START_MARGIN_NS
            for slot in self.slots:
                slot.conn.send(("go", self.t0, slot.runs, None))
            self._gather(on_tick)
        finally:
            for slot in self.slots:
                self._end(slot)

    def _gather(self, on_tick) -> None:
        stop_by = None
        while not all(slot.done for slot in self.slots):
            try:
                self._step()
                if on_tick is not None:
                    on_tick(self._tick())
                if stop_by is not None and time.monotonic() > stop_by:
                    break
            except KeyboardInterrupt:
                self.interrupted = True
                stop_by = time.monotonic() + STOP_SECONDS
                for slot in self.slots:
                    if not slot.done and slot.process is not None:
                        _send(slot.conn, ("stop",))

    def _step(self) -> None:
        """Wait up to 0.1 s for messages and deaths; never blocks on one worker (a restart
        is started here and given its records when it says it is ready)."""
        for slot in self.slots:
            if not slot.done and slot.process is None and time.monotonic() >= slot.respawn_at:
                self._spawn(slot)
        live = [s for s in self.slots if not s.done and s.process is not None]
        waits = [s.conn for s in live] + [s.process.sentinel for s in live]
        if not waits:  # every share left is waiting for its restart
            time.sleep(0.1)
            return
        ready = set(wait(waits, timeout=0.1))
        for slot in live:
            if slot.conn in ready:
                self._receive(slot)
            if slot.process.sentinel in ready and not slot.done:
                self._receive(slot)  # what it sent before it died
                if not slot.done:
                    self._died(slot)

    def _receive(self, slot: Slot) -> None:
        try:
            while not slot.done and slot.conn.poll():
                kind, *body = slot.conn.recv()
                if kind == "part":
                    slot.parts.append(body[0])
                    slot.reported += len(body[0]["runs"])
                    self._recent.append(body[0]["latency"])
                    self._degraded += int(body[0]["degraded"].sum())
                    slot.latest = body[1]
                elif kind == "ready":
                    slot.pid = body[0]
                    slot.conn.send(("go", self.t0, *slot.pending))
                elif kind == "done":
                    slot.counts, slot.latest = _added(slot.counts, body[0]), {}
                    slot.done = True
                elif kind == "error":
                    slot.errors.append(body[0])
        except (EOFError, OSError):
            pass

    def _died(self, slot: Slot) -> None:
        """The worker died: its records not reported go to a new one (retries: those due),
        started after a pause that doubles with each restart (a worker cannot start while
        Redis is away); after MAX_RESTARTS, they count as failed."""
        slot.process.join(timeout=5)  # its sentinel is ready: reaped at once
        code = slot.process.exitcode
        slot.errors.append(f"worker exited with code {code} (signal {-code})" if code and code < 0
                           else f"worker exited with code {code}")  # fmt: skip
        self._end(slot)
        # what its link had seen; the updates it still held for Redis died with it
        queued = slot.latest.pop("queued", 0)
        slot.counts = _added(slot.counts, slot.latest | {"worker_deaths": 1})
        slot.counts = _added(slot.counts, {"lost_updates": queued})
        slot.latest = {}
        left = _unreported(slot)
        if slot.restarts >= MAX_RESTARTS or len(left) == 0:
            slot.done = True
            return
        elapsed = time.monotonic_ns() - self.t0
        if self.schedule is None:
            retry = np.ones(len(left), dtype=np.bool_)
        else:
            retry = self.schedule.dues(left) <= elapsed
        slot.pending = (left, retry)
        slot.respawn_at = time.monotonic() + min(RESTART_PAUSE_S * 2**slot.restarts, 2.0)
        slot.restarts += 1

    def _spawn(self, slot: Slot) -> None:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=worker_main, args=(slot.plan, child), daemon=True)
        process.start()
        child.close()
        slot.process, slot.conn, slot.pid = process, parent, None

    def _await_ready(self, slot: Slot) -> None:
        """At the start: every worker must start (an error here ends the run)."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if slot.conn.poll(0.05):
                try:
                    kind, *body = slot.conn.recv()
                except EOFError:
                    break
                if kind == "ready":
                    slot.pid = body[0]
                    return
                if kind == "error":
                    raise FraudError(f"replay worker {slot.plan.number} could not start: {body[0]}")
            elif not slot.process.is_alive():
                break
        raise FraudError(f"replay worker {slot.plan.number} did not start")

    def _end(self, slot: Slot) -> None:
        process = slot.process
        if process is None:
            return
        if process.is_alive() and not slot.done:
            process.kill()
        process.join(timeout=5)
        slot.conn.close()
        slot.process, slot.pid = None, None

    def _tick(self) -> Tick:
        decided = sum(slot.reported for slot in self.slots)
        elapsed = (time.monotonic_ns() - self.t0) / NS
        recent, self._recent = self._recent, []
        p99 = p99_ms(np.concatenate(recent)) if recent else math.nan
        pids = tuple(slot.pid for slot in self.slots)
        return Tick(elapsed, decided, self._degraded, p99, pids)


def _unreported(slot: Slot) -> np.ndarray:
    if not slot.parts:
        return slot.runs
    seen = np.concatenate([part["runs"] for part in slot.parts])
    return slot.runs[~np.isin(slot.runs, seen)]


def _added(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in sorted(set(a) | set(b))}


def _send(conn, message) -> None:
    try:
        conn.send(message)
    except (OSError, ValueError):
        pass
