"""Rendering `fraud label` and `fraud state show` (Rich, on stderr)."""

from __future__ import annotations

from rich.table import Table

from fraudcli.cli.console import err, safe
from fraudcli.cli.render import print_rejected

DAY = 86400.0


def print_label_summary(summary, rejects_path) -> None:
    data = summary.to_dict()
    err.print(
        f"read {data['read']:,} = applied {data['applied']:,} + changed {data['changed']:,} "
        f"+ unchanged {data['unchanged']:,} + unknown {data['unknown']:,} "
        f"+ rejected {data['rejected']:,}"
    )
    print_rejected(summary, rejects_path)


def format_state(report) -> Table:
    data = report.to_dict()
    table = Table(title=safe(report.source), title_justify="left", show_header=False, box=None)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("users", f"{data['users']:,}"),
        ("merchants", f"{data['merchants']:,}"),
        ("transaction ids (duplicates, labels)", f"{data['transactions']:,}"),
        ("time range", f"{data['oldest'] or '-'} … {data['newest'] or '-'}"),
        ("entries: user / merchant", f"{data['user_entries']:,} / {data['merchant_entries']:,}"),
        ("labelled (fraud)", f"{data['labelled']:,} ({data['labelled_fraud']:,})"),
        ("label changes kept for earlier lookups", f"{data['label_changes']:,}"),
        ("memory as columns / on disk", f"{_mb(report.memory_bytes)} / {_mb(report.disk_bytes)}"),
        ("store", _store(report.store)),
        ("last written", f"{data['written'] or '-'}{_checkpoint(report.checkpoint)}"),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table


def print_state(report) -> None:
    err.print(format_state(report))


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _days(seconds) -> str:
    return f"{seconds / DAY:g} d"


def _store(store: dict) -> str:
    if not store:
        return "-"
    window = store.get("dedupe_window")
    if window is None:  # the merchant horizon
        window = store["label_delay"] + 30 * DAY + store["lateness"]
    delay, lateness = _days(store["label_delay"]), _days(store["lateness"])
    return f"label delay {delay}, lateness {lateness}, dedupe window {_days(window)}"


def _checkpoint(checkpoint: dict) -> str:
    if not checkpoint:
        return ""
    records = checkpoint.get("records")
    what = f", {records:,} records" if isinstance(records, int) and records >= 0 else ""
    return f" ({safe(checkpoint.get('command', '?'))}: {checkpoint.get('reason', '?')}{what})"
