"""`fraud train` on 1M transactions (target: under 20 s)."""

from __future__ import annotations

import time

from bench.common import CACHE, big_table, figure


def run() -> None:
    from fraudcli.commands.train import train_file
    from fraudcli.config.load import load_config

    data = big_table()
    started = time.perf_counter()
    result = train_file(data, config=load_config(), model_dir=CACHE / "model-1m")
    seconds = time.perf_counter() - started
    figure(f"train on {result.summary.read:,} transactions", f"{seconds:.1f} s", "target < 20 s")
    figure("  grid, refit and calibration included; C chosen", f"{result.fit['C']:g}")
    m = result.metrics
    figure(
        "  validation AUC-ROC / average precision", f"{m.auc_roc:.4f} / {m.average_precision:.4f}"
    )
    figure(
        "  validation Brier (constant) / ECE",
        f"{m.brier:.5f} ({m.brier_constant:.5f}) / {m.ece:.5f}",
    )
