"""`fraud train --labels FILE`: labels from a file of their own, joined to the training data by
transaction_id, so a model can be retrained from scored production history.

A transaction takes the file's label; one the file does not name keeps its own `is_fraud`, or
counts as legitimate (no chargeback came). A label that arrived by the transaction's t + d (or
has no `label_time`) is an inline label; a later one is given to the store right after its
transaction and seen by merchant features only from its `label_time`, as `fraud label` would
have made it (`fraudcli.features.labels`). The model learns every label (the target).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from fraudcli.commands.label import label_renames
from fraudcli.config.load import Config
from fraudcli.errors import InputError
from fraudcli.features.feature_table import FeatureTable
from fraudcli.io.formats import Format, detect_format, ensure_readable
from fraudcli.io.raw_rows import raw_rows
from fraudcli.records.labels import Label, labels_of
from fraudcli.records.rejects import Item, Reject
from fraudcli.records.schema import Txn


def read_labels(path: Path, config: Config) -> dict[str, Label]:
    """The labels of a file by transaction_id; InputError when any row is rejected."""
    ensure_readable(path)
    rows = labels_of(raw_rows(path, label_renames(config, None)), detect_format(path) is Format.CSV)
    bad = [item for _, _, item in rows if isinstance(item, Reject)]
    if bad:
        raise InputError(
            f"{path}: {len(bad):,} label rows are not usable, e.g. line {bad[0].line}: "
            f"{bad[0].reason} (`fraud label` shows them all with --rejects)"
        )
    return {item.transaction_id: item for _, _, item in rows if isinstance(item, Label)}


def joined(
    batches: Iterable[list[Item]], labels: dict[str, Label], delay: float, later: dict[str, Label]
) -> Iterator[list[Item]]:
    """The batches with each transaction's label for training; labels that arrive after its
    t + d are left out of the record and put in `later`."""
    for batch in batches:
        out = []
        for line, raw, item in batch:
            if isinstance(item, Txn):
                item = _labelled(item, labels.get(item.transaction_id), delay, later)
            out.append((line, raw, item))
        yield out


def _labelled(txn: Txn, label: Label | None, delay: float, later: dict[str, Label]) -> Txn:
    if label is None:
        return txn if txn.is_fraud is not None else dataclasses.replace(txn, is_fraud=0)
    if label.label_time is not None and label.label_time > txn.ts + delay:
        later[txn.transaction_id] = label
        return txn
    return dataclasses.replace(txn, is_fraud=label.is_fraud)


def with_targets(table: FeatureTable, labels: dict[str, Label]) -> FeatureTable:
    """Every row's label to learn: the file's where it gives one (arrived late or not)."""
    y = table.y.copy()
    for i, tid in enumerate(table.transaction_id):
        label = labels.get(tid)
        if label is not None:
            y[i] = label.is_fraud
    y[y < 0] = 0
    return dataclasses.replace(table, y=np.asarray(y, dtype=np.int8))
