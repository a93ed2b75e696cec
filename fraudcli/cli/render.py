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
from typing import TYPE_CHECKING

from rich.console import Console

from fraudcli.cli.console import err, safe
from fraudcli.features.spec import FEATURES

if TYPE_CHECKING:
    from rich.table import Table

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
    line = f"read {summary.read:,} = written {summary.written:,} + rejected {summary.rejected:,}"
    if summary.output_closed:
        line += f" + not written {summary.not_written:,} (the reader closed the output first)"
    else:
        line += f"  ({summary.seconds:.2f} s, {summary.rate:,.0f} records/s)"
    if summary.decisions:
        parts = [
            f"[{DECISION_STYLE.get(k, '')}]{k}[/] {v:,}"
            for k, v in sorted(summary.decisions.items())
        ]
        line += "\n" + "  ".join(parts)
    return line


def format_reject_reasons(reasons: dict[str, int]) -> Table:
    from rich.table import Table  # (not at start: 10 ms)

    table = Table(title="rejected records by reason", title_justify="left", box=None)
    table.add_column("reason")
    table.add_column("count", justify="right")
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1])[:10]:
        table.add_row(safe(reason), f"{count:,}")
    return table


def print_warning(text: str) -> None:
    err.print(f"[yellow]warning:[/] {safe(text)}")


def print_summary(summary, rejects_path: Path | None = None) -> None:
    err.print(format_summary(summary))
    print_rejected(summary, rejects_path)


def print_rejected(summary, rejects_path: Path | None) -> None:
    """The reasons records were rejected, and where they are (or how to keep them)."""
    if summary.reject_reasons:
        err.print(format_reject_reasons(summary.reject_reasons))
        if rejects_path is None:
            err.print("[dim]write them to a file with --rejects FILE[/]")
        else:
            err.print(f"[dim]rejected records written to {safe(rejects_path)}[/]")


def format_feature_list() -> Table:
    from rich.table import Table  # (not at start: 10 ms)

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
        f"{result.fraud_share:.2%}) to {safe(result.path)}"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


def _num(value: float | None, digits: int = 4) -> str:
    if value is None or value != value:
        return "n/a"
    if 0.999 < value < 1.0:  # thresholds crowd near 1: show where exactly
        return f"{value:.6f}"
    return f"{value:.{digits}f}"


def _prob(value: float | None) -> str:
    """A probability readably: 0.0123, 4.56e-05, "off" for a threshold switched off."""
    if value is None:
        return "off"
    if value != value:
        return "n/a"
    return f"{value:.4f}" if value >= 1e-3 or value == 0 else f"{value:.2e}"


def format_metrics(metrics, title: str) -> Table:
    """AUC, AP, calibration, and what each threshold catches: what a fraud team decides on."""
    from rich.table import Table  # (not at start: 10 ms)

    m = metrics
    table = Table(title=title, title_justify="left", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("transactions (frauds)", f"{m.n:,} ({m.n_fraud:,}, {m.fraud_rate:.2%})")
    table.add_row("AUC-ROC", _num(m.auc_roc))
    table.add_row("average precision", _num(m.average_precision))
    table.add_row("mean fraud_probability / fraud rate", f"{_prob(m.mean_probability)} / "
                  f"{_prob(m.fraud_rate)}")  # fmt: skip
    table.add_row("Brier score (constant predictor)", f"{m.brier:.5f} ({m.brier_constant:.5f})")
    table.add_row("expected calibration error (10 bins)", f"{m.ece:.5f}")
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
        table.add_row(f"[{style}]{name}[/] threshold", _prob(threshold))
        if threshold is None:
            continue
        table.add_row("  flagged", f"{flagged:,}")
        table.add_row("  precision / recall", f"{_pct(precision)} / {_pct(recall)}")
        table.add_row("  share of fraud amount caught", _pct(caught))
    for k, precision in m.top_k_precision_per_day:
        table.add_row(f"precision of top {k} alerts per day", _pct(precision))
    return table


def format_reliability(metrics, title: str = "reliability (10 bins of equal count)") -> Table:
    """Predicted against observed fraud rate, bin by bin: where the probabilities are honest."""
    from rich.table import Table  # (not at start: 10 ms)

    table = Table(title=title, title_justify="left")
    for name in ("bin", "transactions", "fraud_probability", "mean predicted", "observed"):
        table.add_column(name, justify="right")
    for i, b in enumerate(metrics.reliability, 1):
        span = f"{_prob(b.p_low)} - {_prob(b.p_high)}"
        table.add_row(str(i), f"{b.n:,}", span, _prob(b.predicted), _prob(b.observed))
    return table


def format_block_off(policy) -> str:
    from fraudcli.model.metrics import MIN_BLOCK_FLAGGED  # SciPy: not for every command

    return (
        f"[yellow]the model does not block:[/] no threshold on the validation slice blocks "
        f"{MIN_BLOCK_FLAGGED}+ transactions with at least {policy.block_precision:.0%} of them "
        'fraud ([policy] block_precision), so BLOCK is "off" and blocking is left to rules and '
        "block lists"
    )


def print_train_report(result, model_dir, policy) -> None:
    err.print(format_summary(result.summary))
    if result.summary.reject_reasons:
        err.print(format_reject_reasons(result.summary.reject_reasons))
    err.print(
        f"time split: trained on {result.n_train:,} earlier rows, validated on "
        f"{result.n_validation:,} later rows (gap: the label delay)"
    )
    err.print(format_fit(result.fit))
    if not result.converged:
        err.print("[yellow]warning: the optimiser did not converge; try a smaller --C[/]")
    err.print(format_metrics(result.metrics, "validation (the later slice)"))
    err.print(format_reliability(result.metrics))
    if result.metrics.block_threshold is None:
        err.print(format_block_off(policy))
    if result.n_refit:
        err.print(format_refit(result))
    err.print(f"model bundle written to [bold]{safe(model_dir or 'fraud-model')}[/]")


def format_fit(fit: dict) -> str:
    if fit["chosen_by"] == "given":
        return f"L2 strength: C = {fit['C']:g} (given)"
    grid = ", ".join(f"{p['C']:g}: {p['validation_log_loss']:.5f}" for p in fit["grid"])
    return f"L2 strength: C = {fit['C']:g}, the lowest validation log loss of C = {grid}"


def format_refit(result) -> str:
    old, new = result.first_thresholds, result.thresholds
    return (
        f"refitted on {result.n_refit:,} rows (every label known at the end of the data); "
        f"thresholds carried over by flagging as many of the last label delay's rows: "
        f"review {_prob(old['review'])} -> {_prob(new['review'])}, "
        f"block {_prob(_threshold(old['block']))} -> {_prob(_threshold(new['block']))}"
    )


def _threshold(value) -> float | None:
    return None if value == "off" else value


def format_comparison(comparison, champion=None, challenger=None) -> Table:
    """Champion and challenger side by side: decision rates and agreement, and on labelled
    data (`fraud evaluate`) how each ranks and how honest its probabilities are."""
    from rich.table import Table  # (not at start: 10 ms)

    title = f"champion and challenger (bundle {safe(comparison.challenger_bundle)})"
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("champion", justify="right")
    table.add_column("challenger", justify="right")
    if champion is not None and challenger is not None:
        for name, key in (("AUC-ROC", "auc_roc"), ("average precision", "average_precision")):
            table.add_row(name, _num(getattr(champion, key)), _num(getattr(challenger, key)))
        table.add_row("Brier score", f"{champion.brier:.5f}", f"{challenger.brier:.5f}")
        table.add_row("calibration error (ECE)", f"{champion.ece:.5f}", f"{challenger.ece:.5f}")
        for name in ("review", "block"):
            values = (getattr(m, f"{name}_threshold") for m in (champion, challenger))
            table.add_row(f"{name.upper()} threshold", *map(_prob, values))
    for decision in ("ALLOW", "REVIEW", "BLOCK"):
        rates = (comparison.rate(c, decision) for c in (comparison.champion, comparison.challenger))
        style = DECISION_STYLE[decision]
        table.add_row(f"[{style}]{decision}[/] rate", *map(_pct, rates))
    table.add_row("same decision", _pct(comparison.agreement), "")
    return table


def print_comparison(comparison, champion=None, challenger=None) -> None:
    err.print(format_comparison(comparison, champion, challenger))


def print_evaluation(result) -> None:
    err.print(format_summary(result.summary))
    if result.unlabelled:
        err.print(f"{result.unlabelled:,} records had no label and are not in the metrics")
    err.print(format_metrics(result.metrics, "evaluation"))
    err.print(format_reliability(result.metrics))
    if result.comparison is not None:
        print_comparison(result.comparison, result.metrics, result.challenger)
