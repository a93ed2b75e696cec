"""Two model bundles side by side (`fraud train` embedded against `--engine dask`): the
largest differences of the bins' edges, the weights, the thresholds and the metrics.

    python -m bench.compare_bundles model_embedded/ model_dask/

Exit 1 when a weight differs by more than 1e-6 or an edge, threshold or metric by more than
1e-9 relative (the engine's tests' tolerances), or the bins' counts differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def numbers(value) -> list[float]:
    """Every number of a JSON-like value, in order (the keys sorted)."""
    if isinstance(value, dict):
        return [x for key in sorted(value) for x in numbers(value[key])]
    if isinstance(value, list | tuple):
        return [x for item in value for x in numbers(item)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [float(value)]


def largest(a, b, relative: bool) -> float:
    x, y = np.asarray(numbers(a)), np.asarray(numbers(b))
    if x.shape != y.shape:
        return float("inf")
    diff = np.abs(x - y)
    if relative:
        diff = diff / np.maximum(np.abs(y), 1e-300)
        diff[np.abs(x - y) == 0] = 0
    return float(diff.max(initial=0.0))


def main(argv: list[str]) -> int:
    from fraudcli.bundle.model_bundle import load_bundle

    left, right = (load_bundle(Path(p)) for p in argv[:2])
    checks = {
        "weights (absolute)": (largest(left.model["weights"], right.model["weights"], False), 1e-6),
        "edges (relative)": (largest(left.model["edges"], right.model["edges"], True), 1e-9),
        "thresholds (relative)": (largest(left.thresholds, right.thresholds, True), 1e-9),
        "metrics (relative)": (largest(left.metrics, right.metrics, True), 1e-9),
    }
    same_counts = left.model["counts"] == right.model["counts"]
    for name, (value, bound) in checks.items():
        print(f"largest difference of the {name:<22} {value:.3g}  (bound {bound:g})")
    print(f"bins' counts {'equal' if same_counts else 'DIFFERENT'}")
    ok = same_counts and all(value <= bound for value, bound in checks.values())
    print("the same optimum" if ok else "NOT the same")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
