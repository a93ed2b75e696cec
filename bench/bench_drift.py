"""Drift statistics: 100,000 current rows against the bundle's profile, all features.

The feature computation is not timed (it is the pipeline's cost); the figure is the statistics:
PSI, KS, Wasserstein, Jensen-Shannon, chi-squared, Benjamini-Hochberg and the verdicts.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from bench.common import CACHE, figure, trained_model

N = 100_000


def _current_columns():
    import pyarrow.parquet as pq

    from fraudcli.bundle.model_bundle import load_bundle
    from fraudcli.commands.reference import profile_columns
    from fraudcli.features.feature_table import collect_features
    from fraudcli.features.store import InMemoryStore, StoreConfig
    from fraudcli.io.read import read_batches
    from fraudcli.model.scorer import load_scorer
    from fraudcli.records.rejects import RejectSink
    from fraudcli.simulation.simulate import simulate

    bundle = load_bundle(trained_model())
    path = CACHE / "drift-100k.parquet"
    pq.write_table(simulate(N, seed=7, start="2026-03-02", days=21, drift=True), path)
    store = InMemoryStore.restore(bundle.state, StoreConfig(**bundle.store))
    table, _ = collect_features(read_batches(path), store, RejectSink(None))
    probability = load_scorer(bundle.model).proba(table.X)
    rows = np.ones(len(table), dtype=bool)
    return bundle.profile, profile_columns(table, rows, probability, None)


def run() -> None:
    from fraudcli.drift.compare import compare_categorical, compare_numeric
    from fraudcli.drift.profile import Profile
    from fraudcli.drift.verdict import judge_drift

    profile_dict, (numeric, categorical) = _current_columns()
    profile = Profile.from_dict(profile_dict)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        num = {n: compare_numeric(p, numeric[n]) for n, p in profile.numeric.items()}
        cat = {n: compare_categorical(p, categorical[n]) for n, p in profile.categorical.items()}
        verdict = judge_drift(num, cat)
        times.append(time.perf_counter() - started)
    figure(
        f"drift statistics, {N:,} rows x {len(num)} numeric + {len(cat)} categorical",
        f"{statistics.median(times):.3f} s",
        "target < 0.5 s",
    )
    figure("  best of 5", f"{min(times):.3f} s")
    figure("  dataset verdict on the drifted data", verdict.level)
    _reference_against_features()


def _reference_against_features() -> None:
    """`drift-report --reference A --current B` (200,000 + 100,000 rows of the big table) and
    `fraud features` on the same 300,000 rows, each a command in a shell, best of two."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pyarrow.parquet as pq

    from bench.common import big_table

    paths = [CACHE / f"{name}.parquet" for name in ("reference-200k", "current-100k", "both-300k")]
    if not all(path.exists() for path in paths):
        big = pq.read_table(big_table())
        spans = [(0, 200_000), (200_000, 100_000), (0, 300_000)]
        for path, (start, n) in zip(paths, spans, strict=True):
            pq.write_table(big.slice(start, n), path)
    fraud = str(Path(sys.executable).with_name("fraud"))
    env = dict(os.environ, NO_COLOR="1")

    def best(command: list[str]) -> float:
        times = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(command, check=True, env=env, capture_output=True)
            times.append(time.perf_counter() - started)
        return min(times)

    features = best([fraud, "features", str(paths[2]), "-o", str(CACHE / "features-300k.parquet")])
    drift = best([fraud, "drift-report", "--reference", str(paths[0]), "--current", str(paths[1]),
                  "--model", str(trained_model())])  # fmt: skip
    figure("fraud features, 300,000 rows", f"{features:.2f} s")
    figure("drift-report --reference 200,000 --current 100,000 rows", f"{drift:.2f} s")
    figure("  ratio drift-report / features", f"{drift / features:.2f}x", "aim <= 1.5x")
