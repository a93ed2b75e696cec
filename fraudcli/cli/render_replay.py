"""The replay on screen: a live line while it runs and a final table, both on stderr.

`format_*` build Rich renderables from the report; `print_report` and `live_view` show them.
The live view exists only when stderr is a terminal, and redraws only when the engine calls
it (in idle slack, twice a second): no refresh thread competes with the replay loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from fraudcli.cli.console import err
from fraudcli.cli.sparkline import sparkline
from fraudcli.replay.latency import Percentiles
from fraudcli.replay.loop import LiveStats
from fraudcli.replay.report import ReplayReport

DECISION_STYLE = {"ALLOW": "green", "REVIEW": "yellow", "BLOCK": "bold red"}


def format_live(stats: LiveStats) -> Text:
    done = f"{stats.decided:,}" + (f"/{stats.total:,}" if stats.total else "")
    return Text.from_markup(
        f"[bold]replay[/] {stats.elapsed_s:6.1f} s  {done} decided  "
        f"{stats.rate:,.0f}/s  rolling p99 {stats.p99_ms:.2f} ms  degraded {stats.degraded:,}"
    )


@contextmanager
def live_view() -> Iterator[Callable[[LiveStats], None] | None]:
    """Yields an `update(stats)` callback, or None when stderr is not a terminal."""
    if not err.is_terminal:
        yield None
        return
    with Live(console=err, auto_refresh=False, transient=True) as live:
        yield lambda stats: live.update(format_live(stats), refresh=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_latency(latency: Percentiles, service: Percentiles) -> Table:
    table = Table(title="latency (ms)", title_justify="left", box=None)
    table.add_column("")
    for name in ("p50", "p90", "p99", "p99.9", "max"):
        table.add_column(name, justify="right")
    for label, figures in (("due -> decided", latency), ("service", service)):
        values = (figures.p50, figures.p90, figures.p99, figures.p999, figures.max)
        table.add_row(label, *(_ms(v) for v in values))
    return table


def format_counts(report: ReplayReport) -> Table:
    table = Table(title="replay", title_justify="left", box=None, show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("target", format_target(report))
    table.add_row("achieved", f"{report.achieved_tps:,.0f}/s over {report.seconds:.2f} s")
    table.add_row("read / rejected", f"{report.read:,} / {report.rejected:,}")
    table.add_row("decided / degraded", f"{report.decided:,} / {report.degraded:,}")
    for kind, count in report.decisions.items():
        style = DECISION_STYLE.get(kind)  # (none for DUPLICATE: a shared store's answer)
        table.add_row(f"  [{style}]{kind}[/]" if style else f"  {kind}", f"{count:,}")
    table.add_row("worst lag behind schedule", f"{_ms(report.max_lag_ms)} ms")
    return table


def format_target(report: ReplayReport) -> str:
    if report.mode == "tps":
        return f"{report.target_tps:,.0f}/s"
    if report.mode == "speed":
        return f"recorded times x{report.speed:g}"
    return "as fast as possible"


def format_workers(report: ReplayReport) -> Table:
    """--workers: each worker's share, and the run's accounting and availability."""
    a = report.availability or {}
    title = (
        f"workers  records {a['records']:,} = decided {a['decided']:,} + degraded "
        f"{a['degraded']:,} + failed {a['failed']:,}  availability {a['availability']:.4%}"
        f"  longest gap {_seconds(a['longest_gap_s'])}  lost updates {a['lost_updates']:,}"
    )
    table = Table(title=title, title_justify="left", box=None)
    names = ("records", "rate", "degraded", "failed", "restarts", "errors", "reconnects")
    table.add_column("worker", justify="right")
    for name in (*names, "retried_updates"):
        table.add_column(name.replace("_", " "), justify="right")
    for row in report.workers:
        cells = [f"{row[name]:,.0f}" + ("/s" if name == "rate" else "") for name in names]
        table.add_row(str(row["worker"]), *cells, f"{row['retried_updates']:,}")
    return table


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def format_report(report: ReplayReport) -> Group:
    parts = [format_counts(report), format_latency(report.latency, report.service)]
    if report.workers:
        parts.append(format_workers(report))
    if report.per_second:
        p99s = [s.p99_ms for s in report.per_second]
        line = sparkline([math.nan if v is None else v for v in p99s])
        parts.append(Text(f"p99 per second  {line}  (max {_ms(max_of(p99s))} ms)"))
    if report.interrupted:
        parts.append(Text.from_markup("[yellow]interrupted: figures cover the run so far[/]"))
    return Group(*parts)


def max_of(values: list[float | None]) -> float | None:
    return max((v for v in values if v is not None), default=None)


def print_report(report: ReplayReport) -> None:
    err.print(format_report(report))
