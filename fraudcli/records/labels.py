"""A label that arrives after the fact (a chargeback, a reversed chargeback): which transaction,
fraud or not, and optionally when it became known (`label_time`, event time).

`labels_of(items)` validates the rows of a label file: each becomes a `Label` or a `Reject`
(missing or bad id, bad label, bad time), and an id given two different labels in the same file
is rejected on every line it appears on, since the file does not say which one holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fraudcli.records.field_checks import RecordError, parse_identifier, parse_label
from fraudcli.records.rejects import Reject, dumps_raw
from fraudcli.records.timestamps import parse_timestamp

LABEL_FIELDS = ("transaction_id", "is_fraud", "label_time")
APPLIED, CHANGED, UNCHANGED, UNKNOWN = "applied", "changed", "unchanged", "unknown"


@dataclass(frozen=True, slots=True)
class Label:
    transaction_id: str
    is_fraud: int
    label_time: float | None = None  # epoch seconds; None: when `fraud label` runs


def parse_label_row(obj: dict, lenient: bool) -> Label:
    """One row of a label file as a Label, or RecordError saying why not."""
    tid = parse_identifier(obj, "transaction_id")
    value = parse_label(obj)
    if value is None:
        raise RecordError("missing required field 'is_fraud'")
    stamp = obj.get("label_time")
    if stamp is None or stamp == "":
        return Label(tid, value)
    try:
        return Label(tid, value, parse_timestamp(stamp, lenient))
    except RecordError as exc:
        raise RecordError(str(exc).replace("'timestamp'", "'label_time'")) from None


def labels_of(
    rows: Iterable[tuple[int, str | None, dict | Reject]], lenient: bool
) -> list[tuple[int, str | None, Label | Reject]]:
    """The file's rows in order, each a Label or a Reject; conflicting ids rejected."""
    out: list[tuple[int, str | None, Label | Reject]] = []
    for line, raw, row in rows:
        if isinstance(row, Reject):
            out.append((line, raw, row))
            continue
        try:
            out.append((line, raw, parse_label_row(row, lenient)))
        except RecordError as exc:
            out.append((line, raw, Reject(line, str(exc), raw or dumps_raw(row))))
    return _conflicts_rejected(out)


def _conflicts_rejected(rows: list) -> list:
    values: dict[str, set[int]] = {}
    for _, _, item in rows:
        if isinstance(item, Label):
            values.setdefault(item.transaction_id, set()).add(item.is_fraud)
    torn = {tid for tid, seen in values.items() if len(seen) > 1}
    if not torn:
        return rows
    out = []
    for line, raw, item in rows:
        if isinstance(item, Label) and item.transaction_id in torn:
            reason = (
                f"two different labels for one transaction_id in this file: {item.transaction_id!r}"
            )
            item = Reject(line, reason, raw or dumps_raw(_as_dict(item)))
        out.append((line, raw, item))
    return out


def _as_dict(label: Label) -> dict:
    return {name: getattr(label, name) for name in LABEL_FIELDS}
