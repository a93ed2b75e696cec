"""Labels after the fact, in the one-record store (`InMemoryStore.label`).

A label of transaction x (merchant m, time t_x) becomes visible to merchant features at
v = max(t_x + d, arrival), arrival being the label's `label_time` or, without one, the state's
newest event time when it is given. A lookup at t counts x as fraud iff x is in its window and
its label is inline or v <= t. A window entry has t_x <= t - d, so only a lookup with
t < arrival (a record older than the label) can see the difference: the entry takes its new
label at once, and the merchant keeps (t_x, arrival, new - old) for each change that arrived
after t_x + d, which `merchant_features` undoes for lookups before the arrival. Several changes
of one label compose (each one undone is its own new - old) because a change never arrives
before the one it replaces: its arrival is at least that one's. The changes expire with their
entries. A label that arrives by t_x + d is therefore exactly an inline label; the same label
again changes nothing.

A label for an id the registry no longer holds within its window (`IdRegistry.live`), or never
held, is unknown: such a transaction is out of every window a later label could reach.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

from fraudcli.features.state import MerchantState, prefix_sums
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.labels import APPLIED, CHANGED, UNCHANGED, UNKNOWN, Label

Change = tuple[float, float, int, int]  # (t_x, arrival, old, new), old/new as counted (0/1)


def apply_labels(
    ids: IdRegistry,
    merchants: dict[str, MerchantState],
    labels: Sequence[Label],
    arrival: float,
    delay: float,
) -> list[str]:
    """Each label's outcome (applied, changed, unchanged, unknown), the registry's labels and
    the merchants' entries changed; `arrival` stands for a label without a `label_time`."""
    positions = ids.find([label.transaction_id for label in labels]).tolist()
    outcomes, changes = [], {}
    for label, position in zip(labels, positions, strict=True):
        entry = ids.entry(position) if position >= 0 else None
        if entry is None or not ids.live(entry[0]):
            outcomes.append(UNKNOWN)
            continue
        ts, merchant, old, before = entry
        if old == label.is_fraud:
            outcomes.append(UNCHANGED)
            continue
        outcomes.append(APPLIED if old is None else CHANGED)
        when = arrival if label.label_time is None else label.label_time
        if before is not None and when < before:  # a change takes effect after the one it
            when = before  # replaces, whatever its label_time says
        ids.set_label(position, label.is_fraud, when)
        if merchant is not None and (old or 0) != label.is_fraud:
            changes.setdefault(merchant, []).append((ts, when, old or 0, label.is_fraud))
    for merchant_id, merchant_changes in changes.items():
        state = merchants.get(merchant_id)
        if state is not None:
            relabel(state, merchant_changes, delay)
    return outcomes


def relabel(state: MerchantState, changes: list[Change], delay: float) -> None:
    """Give the merchant's entries their new labels (an entry at t_x holding the old one), and
    keep the changes a lookup before their arrival must undo."""
    labels = [b - a for a, b in zip(state.cum_fraud, state.cum_fraud[1:], strict=False)]
    kept = list(state.changes or ())
    for ts, arrival, old, new in changes:
        i = bisect_right(state.ts, ts) - 1
        while i >= 0 and state.ts[i] == ts and labels[i] != old:
            i -= 1
        if i < 0 or state.ts[i] != ts:
            continue  # expired with its entry: out of every window already
        labels[i] = new
        if arrival > ts + delay:
            kept.append((ts, arrival, new - old))
    state.cum_fraud = prefix_sums(labels, state.cum_fraud[0])
    state.changes = kept or None
    state.last_arrival = max((c[1] for c in kept), default=-math.inf)
