"""Duplicate transaction_ids as rejects, so a replayed or double-submitted transaction is never
counted twice (in the state, the output or the metrics): `RecordDuplicates` for the record path,
`BlockDuplicates` for the column path, both answering by the rule of
`fraudcli.records.id_registry` (an earlier accepted record with the same id within the window)
from one registry, which a state carries from run to run.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from fraudcli.records.columns import ValidBlock
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import FIELDS, Txn


class BlockDuplicates:
    """Drops the duplicates of a block as rejects (as `RecordDuplicates` would, row by row)."""

    def __init__(self, ids: IdRegistry) -> None:
        self.ids = ids

    def keep(self, block: ValidBlock) -> tuple[np.ndarray | None, list[Reject]]:
        data = block.data
        ids = data["transaction_id"]
        label = data.get("is_fraud")
        labels = None if label is None else label.fill_null(-1).to_numpy().astype(np.int8)
        ts = data["ts"].to_numpy(zero_copy_only=False)
        keep = self.ids.admit_block(ids, ts, data.get("merchant_id"), labels)
        if keep is None:
            return None, []
        return keep, duplicate_rejects(block, np.flatnonzero(~keep))


def duplicate_rejects(block: ValidBlock, rows: np.ndarray) -> list[Reject]:
    """The rejects of the block's `rows` (indices), each a repeat of an earlier id."""
    ids = block.data["transaction_id"]
    tids = ids.take(pa.array(rows, pa.int64())).to_pylist()
    return [
        Reject(int(block.lines[i]), f"duplicate transaction_id {tid!r}", _raw_row(block, i))
        for i, tid in zip(rows.tolist(), tids, strict=True)
    ]


class RecordDuplicates:
    """Rejects a duplicate transaction_id, record by record."""

    def __init__(self, ids: IdRegistry) -> None:
        self.ids = ids

    def check(self, line: int, raw: str | None, txn: Txn) -> Txn | Reject:
        if self.ids.admit(txn.transaction_id, txn.ts, txn.merchant_id, txn.is_fraud):
            return txn
        return duplicate(line, raw, txn)


def duplicate(line: int, raw: str | None, txn: Txn) -> Reject:
    """The reject of a duplicate record."""
    reason = f"duplicate transaction_id {txn.transaction_id!r}"
    return Reject(line, reason, raw if raw is not None else _raw(txn))


def _raw(txn: Txn) -> str:
    return json.dumps(txn.fields() | (txn.extras or {}), default=str)


def _raw_row(block: ValidBlock, i: int) -> str:
    """Row `i`'s raw text as the record path gives it: its line, or its fields as JSON."""
    line = int(block.lines[i])
    if block.raw_line is not None:
        return block.raw_line(line)
    fields = {name: block.data[name][i].as_py() for name in FIELD_COLUMNS}
    fields["timestamp"] = fields.pop("ts")
    record = {name: fields[name] for name in FIELDS}
    extra = block.extras.get(i)
    if extra is None:
        extra = {name: column[i].as_py() for name, column in block.passthrough.items()}
    return json.dumps(record | extra, default=str)


FIELD_COLUMNS = tuple(name if name != "timestamp" else "ts" for name in FIELDS)
