"""Drift reports for the terminal: a table sorted by severity, histograms side by side."""

from __future__ import annotations

import math

from rich import box
from rich.table import Table

from fraudcli.cli.console import err, safe
from fraudcli.cli.sparkline import sparkline
from fraudcli.drift.compare import CategoricalDrift, NumericDrift
from fraudcli.drift.verdict import LEVELS

LEVEL_STYLE = {"stable": "green", "warn": "yellow", "drift": "bold red"}


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _pvalue(value: float) -> str:
    return "–" if math.isnan(value) else ("<1e-300" if value == 0 else f"{value:.1e}")


def _histograms(d: NumericDrift | CategoricalDrift) -> tuple[str, str]:
    if isinstance(d, NumericDrift):
        ref, cur = d.ref_hist, d.cur_hist
    else:
        ref = [s.ref_share for s in d.top]
        cur = [s.cur_share for s in d.top]
    top = max([*ref, *cur, 0.0])
    return sparkline(ref, top), sparkline(cur, top)


def format_features(result) -> Table:
    """Every input feature and raw field, worst first."""
    table = Table(title="model inputs: features and raw fields, worst first", title_justify="left")
    for name, justify in (
        ("feature", "left"),
        ("level", "left"),
        ("PSI/JS", "right"),
        ("p (BH)", "right"),
        ("W/σ", "right"),
        ("Δmissing", "right"),
        ("reference", "left"),
        ("current", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name in ("feature", "reference", "current"))
    details = {**result.numeric, **result.categorical}
    order = sorted(
        result.verdict.features,
        key=lambda f: (-LEVELS.index(f.level), -(0 if math.isnan(f.effect) else f.effect)),
    )
    for f in order:
        d = details[f.name]
        ref, cur = _histograms(d)
        style = LEVEL_STYLE[f.level]
        wasserstein = d.wasserstein_scaled if isinstance(d, NumericDrift) else float("nan")
        table.add_row(
            f.name,
            f"[{style}]{f.level}[/]",
            _fmt(f.effect),
            _pvalue(f.p_adjusted),
            _fmt(wasserstein),
            f"{f.missing_change:+.3f}",
            ref,
            cur,
        )
    return table


def format_unseen(result) -> list[str]:
    lines = []
    for name, d in result.categorical.items():
        if d.unseen:
            shown = ", ".join(safe(c) for c in d.unseen[:8]) + (" …" if len(d.unseen) > 8 else "")
            lines.append(
                f"{name}: categories unseen in the reference ({d.unseen_share:.1%} of "
                f"current rows): {shown}"
            )
    return lines


def format_model_output(result) -> Table:
    table = Table(title="model output", title_justify="left")
    table.add_column("what")
    table.add_column("reference", justify="right")
    table.add_column("current", justify="right")
    table.add_column("change", justify="right")
    score = result.model_output.get("fraud_probability")
    if isinstance(score, NumericDrift):
        ref, cur = _histograms(score)
        table.add_row("fraud_probability (PSI)", ref, cur, _fmt(score.psi))
    decision = result.model_output.get("decision")
    if isinstance(decision, CategoricalDrift):
        for share in sorted(decision.top, key=lambda s: s.category):
            table.add_row(
                f"{share.category} rate",
                f"{share.ref_share:.2%}",
                f"{share.cur_share:.2%}",
                f"{share.cur_share - share.ref_share:+.2%}",
            )
    label = result.model_output.get("is_fraud")
    if isinstance(label, CategoricalDrift) and label.missing_rate_cur < 1.0:
        shares = {s.category: s for s in label.top}
        if "1" in shares:
            s = shares["1"]
            table.add_row(
                "fraud rate (labels)",
                f"{s.ref_share:.2%}",
                f"{s.cur_share:.2%}",
                f"{s.cur_share - s.ref_share:+.2%}",
            )
    return table


def format_by_period(result, top: int = 12) -> Table:
    """PSI per feature per period, for the features that moved most, to see when it began."""
    periods = sorted({p for series in result.by_period.values() for p in series})
    title = f"PSI by {result.period}, {periods[0]} … {periods[-1]} (features that moved most)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("feature", no_wrap=True)
    for period in periods:  # the day of the month, or the hour: enough to read a trend
        header = period[8:10] if result.period == "day" else period[-3:]
        table.add_column(header, justify="right", min_width=3, no_wrap=True)
    ranked = sorted(result.by_period.items(), key=lambda kv: -max(kv[1].values(), default=0))
    t = result.verdict.thresholds
    for name, series in ranked[:top]:
        cells = []
        for period in periods:
            value = series.get(period, float("nan"))
            level = (
                "stable"
                if math.isnan(value)
                else (
                    "drift" if value >= t.psi_drift else "warn" if value >= t.psi_warn else "stable"
                )
            )
            text = "–" if math.isnan(value) else f"{value:.2f}".removeprefix("0")
            cells.append(f"[{LEVEL_STYLE[level]}]{text}[/]")
        table.add_row(name, *cells)
    return table


def print_drift(result) -> None:
    from fraudcli.cli.render import print_summary

    v = result.verdict
    print_summary(result.summary)
    err.print(format_features(result))
    for line in format_unseen(result):
        err.print(line)
    if result.not_judged:
        err.print(
            f"not judged: {', '.join(result.not_judged)} (the current data spans "
            f"{result.span_seconds / 86400:.1f} days: too short for calendar features)"
        )
    err.print(format_model_output(result))
    if result.by_period:
        err.print(format_by_period(result))
    style = LEVEL_STYLE[v.level]
    err.print(
        f"dataset: [{style}]{v.level.upper()}[/] — {v.reason}; {v.n_drift} drift, "
        f"{v.n_warn} warn (PSI warn/drift {v.thresholds.psi_warn:g}/{v.thresholds.psi_drift:g}, "
        f"JS {v.thresholds.js_warn:g}/{v.thresholds.js_drift:g}); compared with the "
        f"{result.reference}, {result.summary.written:,} current rows"
    )
