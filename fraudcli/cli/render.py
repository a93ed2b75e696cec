"""Rendering results for humans (Rich, on stderr) and machines (JSON, on stdout).

`format_*` functions build Rich renderables from result objects; `print_*` print them.
No arithmetic on the numbers happens here beyond formatting.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fraudcli.cli.console import err
from fraudcli.features.spec import FEATURES

DECISION_STYLE = {"ALLOW": "green", "REVIEW": "yellow", "BLOCK": "bold red"}


def print_json(data: dict) -> None:
    """Machine output on stdout: indented, NaN-free JSON."""
    sys.stdout.write(json.dumps(finite(data), indent=2) + "\n")


def write_json(data: dict, path: Path) -> None:
    """The same JSON to a file, written beside it and renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(finite(data), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def emit(data: dict, as_json: bool, report: Path | None) -> None:
    """`--json` (stdout) and `--report FILE` (a file) of a command's result."""
    if report is not None:
        write_json(data, report)
    if as_json:
        print_json(data)


def finite(value):
    """`value` with NaN and infinities replaced by None, recursively (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def format_summary(summary) -> str:
    """`read = written + rejected` and the rate, in one line."""
    line = (
        f"read {summary.read:,} = written {summary.written:,} + rejected {summary.rejected:,}"
        f"  ({summary.seconds:.2f} s, {summary.rate:,.0f} records/s)"
    )
    if summary.decisions:
        parts = [
            f"[{DECISION_STYLE.get(k, '')}]{k}[/] {v:,}"
            for k, v in sorted(summary.decisions.items())
        ]
        line += "\n" + "  ".join(parts)
    return line


def format_reject_reasons(reasons: dict[str, int]) -> Table:
    table = Table(title="rejected records by reason", title_justify="left", box=None)
    table.add_column("reason")
    table.add_column("count", justify="right")
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:10]:
        table.add_row(reason, f"{count:,}")
    return table


def print_warning(text: str) -> None:
    err.print(f"[yellow]warning:[/] {text}")


def print_summary(summary) -> None:
    err.print(format_summary(summary))
    if summary.reject_reasons:
        err.print(format_reject_reasons(summary.reject_reasons))
        err.print("[dim]write them to a file with --rejects FILE[/]")


def format_feature_list() -> Table:
    table = Table(
        "feature",
        "meaning",
        title="features (prior = earlier in input order, t = its timestamp, d = label delay)",
        title_justify="left",
    )
    for feature in FEATURES:
        table.add_row(feature.name, feature.meaning)
    return table


def print_feature_list() -> None:
    """The feature list is the command's data: on stdout, plain TSV when piped."""
    if sys.stdout.isatty():
        Console().print(format_feature_list())
    else:
        sys.stdout.write("".join(f"{f.name}\t{f.meaning}\n" for f in FEATURES))


def print_simulated(result) -> None:
    err.print(
        f"wrote {result.rows:,} transactions ({result.frauds:,} fraud, "
        f"{result.fraud_share:.2%}) to {result.path}"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


def _num(value: float | None, digits: int = 4) -> str:
    if value is None or value != value:
        return "n/a"
    if 0.999 < value < 1.0:  # thresholds crowd near 1: show where exactly
        return f"{value:.6f}"
    return f"{value:.{digits}f}"


def format_metrics(metrics, title: str) -> Table:
    """AUC, AP, and what each threshold catches: the numbers a fraud team decides on."""
    m = metrics
    table = Table(title=title, title_justify="left", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row(
        "transactions (frauds)", f"{m.n:,} ({m.n_fraud:,}, {m.n_fraud / max(m.n, 1):.2%})"
    )
    table.add_row("AUC-ROC", _num(m.auc_roc))
    table.add_row("average precision", _num(m.average_precision))
    for name, threshold, precision, recall, flagged, caught in (
        (
            "REVIEW",
            m.review_threshold,
            m.precision_at_review,
            m.recall_at_review,
            m.n_flagged_review,
            m.amount_caught_review,
        ),
        (
            "BLOCK",
            m.block_threshold,
            m.precision_at_block,
            m.recall_at_block,
            m.n_flagged_block,
            m.amount_caught_block,
        ),
    ):
        style = DECISION_STYLE[name]
        table.add_row(f"[{style}]{name}[/] threshold", _num(threshold))
        table.add_row("  flagged", f"{flagged:,}")
        table.add_row("  precision / recall", f"{_pct(precision)} / {_pct(recall)}")
        table.add_row("  share of fraud amount caught", _pct(caught))
    for k, precision in m.top_k_precision_per_day:
        table.add_row(f"precision of top {k} alerts per day", _pct(precision))
    return table


def print_train_report(result, model_dir) -> None:
    err.print(format_summary(result.summary))
    if result.summary.reject_reasons:
        err.print(format_reject_reasons(result.summary.reject_reasons))
    err.print(
        f"time split: trained on {result.n_train:,} earlier rows, validated on "
        f"{result.n_validation:,} later rows (gap: the label delay)"
    )
    if not result.converged:
        err.print("[yellow]warning: the optimiser did not converge; try a smaller --C[/]")
    err.print(format_metrics(result.metrics, "validation (the later slice)"))
    err.print(f"model bundle written to [bold]{model_dir or 'fraud-model'}[/]")


def print_evaluation(result) -> None:
    err.print(format_summary(result.summary))
    if result.unlabelled:
        err.print(f"{result.unlabelled:,} records had no label and are not in the metrics")
    err.print(format_metrics(result.metrics, "evaluation"))
