"""What deciding a batch gives: the output record of each decision (the same keys and values on
the record path, a dict per record, and on the column path, an Arrow table per block), and
beside it what `evaluate` and `drift-report` read (features, scores, input fields).

`Scored` is a block of the column path; `ScoredRecords` a batch of the record path in the
same shape, its columns made only when asked for (a pipe writes its dicts and nothing more)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from fraudcli.decision.batch_judge import Judged
from fraudcli.decision.engine import DECISIONS
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.records.columns import txn_columns
from fraudcli.records.iso_columns import format_timestamps
from fraudcli.records.schema import Txn
from fraudcli.records.timestamps import format_timestamp


def output_record(txn: Txn, decision, features: list[float] | None) -> dict:
    """One decision as an output row: ids, time, amount, probability, decision, reasons."""
    probability = decision.fraud_probability
    row = {
        "transaction_id": txn.transaction_id,
        "user_id": txn.user_id,
        "timestamp": txn.ts_text or format_timestamp(txn.ts),
        "amount": txn.amount,
        "fraud_probability": None if probability is None else round(probability, 6),
        "decision": decision.decision,
        "reasons": list(decision.reasons),
    }
    if decision.degraded:
        row["degraded"] = True
    if features:
        row.update(zip(FEATURE_NAMES, features, strict=True))
    if txn.extras:
        for key, value in txn.extras.items():
            row.setdefault(key, value)
    return row


# the keys `output_record` writes itself: a whole row holds the table's own values there
OUTPUT_KEYS = frozenset(("transaction_id", "user_id", "timestamp", "amount", "fraud_probability",
                         "decision", "reasons", "degraded", "shadow_probability",
                         "shadow_decision", *FEATURE_NAMES))  # fmt: skip


def output_table(data, judged: Judged, X: np.ndarray | None) -> pa.Table:
    import pyarrow.compute as pc  # (the column path's: not at start)

    n, reasons = len(judged.p), judged.reasons
    stamps = data["ts_text"]
    if stamps.null_count:
        stamps = pc.coalesce(stamps, format_timestamps(data["ts"].to_numpy()))
    lengths = np.zeros(n + 1, dtype=np.int32)
    flat: list[str] = []
    for i, why in sorted(reasons.items()):
        lengths[i + 1] = len(why)
        flat.extend(why)
    offsets = pa.array(np.cumsum(lengths, dtype=np.int32))
    columns = {
        "transaction_id": data["transaction_id"],
        "user_id": data["user_id"],
        "timestamp": stamps,
        "amount": data["amount"],
        "fraud_probability": pa.array(judged.rounded(), pa.float64()),
        "decision": pc.take(pa.array(DECISIONS), pa.array(judged.severity)),
        "reasons": pa.ListArray.from_arrays(offsets, pa.array(flat, pa.string())),
    }
    if X is not None:
        columns |= {name: pa.array(X[:, j]) for j, name in enumerate(FEATURE_NAMES)}
    return pa.table(columns)


def with_passthrough(table: pa.Table, passthrough: dict[str, pa.Array]) -> pa.Table:
    """Input columns outside the schema, after ours (an input column named like one of ours
    is left out, as `output_record` keeps its own value)."""
    for name, array in passthrough.items():
        if name not in table.column_names:
            table = table.append_column(name, array)
    return table


def extras_rows(table: pa.Table, extras: dict[int, dict]) -> dict[int, dict]:
    """The whole output row of each record with extras, keys as `output_record` orders them."""
    if not extras:
        return {}
    rows = table.take(pa.array(list(extras), pa.int64())).to_pylist()
    for row, fields in zip(rows, extras.values(), strict=True):
        for key, value in fields.items():
            row.setdefault(key, value)
    return dict(zip(extras, rows, strict=True))


@dataclass
class Scored:
    """One block's output: the table (the record path's keys and order) and, for rows whose
    output has keys of their own (per-record extras), the full output row as a dict. Beside
    them what drift-report profiles: the rows' features `X`, scores `p` (not rounded) and input
    columns `data` (`ValidBlock.data`)."""

    table: pa.Table
    rows: dict[int, dict]
    X: np.ndarray
    p: np.ndarray
    data: dict[str, pa.Array]
    # the tables of the feature state after this block, when the run keeps them (checkpoints)
    state: Callable[[], dict[str, pa.Table]] | None = None

    def decisions(self) -> list[str]:
        return self.table["decision"].to_pylist() if self.table.num_rows else []


class ScoredRecords:
    """A batch decided on the record path, in `Scored`'s shape: every output row is a dict in
    `rows` (so `table` is None); `X`, `p` and `data` are made from the records when read."""

    table = None

    def __init__(self, txns: list[Txn], features: list, decided: list, rows: list[dict]) -> None:
        self.txns, self.features, self.decided = txns, features, decided
        self.rows = dict(enumerate(rows))
        self.state: Callable[[], dict[str, pa.Table]] | None = None  # as `Scored.state`

    def decisions(self) -> list[str]:
        return [decision.decision for decision in self.decided]

    @cached_property
    def X(self) -> np.ndarray:
        width = len(FEATURE_NAMES)
        X = np.full((len(self.features), width), np.nan)
        for i, features in enumerate(self.features):
            if features:  # a degraded decision has none
                X[i] = features
        return X

    @cached_property
    def p(self) -> np.ndarray:
        return np.array(
            [np.nan if d.fraud_probability is None else d.fraud_probability for d in self.decided],
            dtype=np.float64,
        )

    @cached_property
    def data(self) -> dict[str, pa.Array]:
        return txn_columns(self.txns)
