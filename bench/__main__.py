"""`make bench`: run every benchmark and print its figures.

python -m bench                 # everything (a few minutes)
python -m bench simulate score  # a selection
"""

from __future__ import annotations

import sys
import time

from bench import common

SUITES = (
    "simulate",
    "score",
    "shapes",
    "train",
    "model",
    "calibration",
    "memory",
    "state",
    "river",
    "replay",
    "drift",
    "redis_store",
    "replay_workers",
    "dask",
)


def main(argv: list[str]) -> None:
    chosen = argv or list(SUITES)
    unknown = sorted(set(chosen) - set(SUITES))
    if unknown:
        sys.exit(f"unknown suite(s): {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    started = time.perf_counter()
    for name in chosen:
        common.heading(name)
        module = __import__(f"bench.bench_{name}", fromlist=["run"])
        module.run()
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
