"""Peak resident memory of a command and of each process it starts (Dask's worker processes
among them), sampled with psutil (which `distributed` depends on) every `--every` seconds.

    python -m bench.rss -- fraud features big/ --engine dask --dask-workers 2 -o feats/

Prints on stderr the wall time, the load average before and after, and per process its peak
RSS (a worker's peak is the figure to hold against `--memory-limit`). A process that lives
less than one interval can be missed; a peak between two samples too (so the figures are lower
bounds, to about the memory one interval allocates).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Peaks:
    """Peak RSS (bytes) per process id, what each one runs, and the peak of their sum."""

    rss: dict[int, int] = field(default_factory=dict)
    what: dict[int, str] = field(default_factory=dict)
    total: int = 0

    def workers(self) -> list[int]:
        """Peak RSS of the Dask worker processes (multiprocessing children), largest first."""
        return sorted(
            (rss for pid, rss in self.rss.items() if "spawn_main" in self.what[pid]),
            reverse=True,
        )


class Sampler:
    """Samples a process tree in a thread: `with Sampler(pid) as peaks: ...`."""

    def __init__(self, pid: int | None = None, every: float = 0.1) -> None:
        self.pid = pid or os.getpid()
        self.every = every
        self.peaks = Peaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Peaks:
        self._thread.start()
        return self.peaks

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            self._sample(root, psutil)
            self._stop.wait(self.every)

    def _sample(self, root, psutil) -> None:
        total = 0
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in tree:
            try:
                rss = proc.memory_info().rss
                # read each time: a child seen between fork and exec shows its parent's
                self.peaks.what[proc.pid] = " ".join(proc.cmdline())[:120]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += rss
            self.peaks.rss[proc.pid] = max(rss, self.peaks.rss.get(proc.pid, 0))
        self.peaks.total = max(total, self.peaks.total)


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=0.1, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    load = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen(command)
    with Sampler(proc.pid, args.every) as peaks:
        code = proc.wait()
    wall = time.perf_counter() - started
    after = os.getloadavg()
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    say(f"rss: exit {code}, wall {wall:.1f} s, load {load[0]:.2f} before, {after[0]:.2f} after"
        f" (1-min averages; 5-min {after[1]:.2f})")  # fmt: skip
    for pid, rss in sorted(peaks.rss.items(), key=lambda item: -item[1]):
        say(f"rss:   {gib(rss):>10}  pid {pid}  {peaks.what[pid][:90]}")
    say(f"rss: peak of the sum {gib(peaks.total)}; workers {[gib(w) for w in peaks.workers()]}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
