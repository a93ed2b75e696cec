"""A point-in-time feature table: what `train`, `features`, `evaluate` and `drift-report` share.

Rows go through the feature store one at a time, in input order (the same code as scoring),
and land in NumPy arrays batch by batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from fraudcli.features.batch import batch_features
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore
from fraudcli.records.accounting import RunSummary, accepted
from fraudcli.records.labels import Label
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn

CATEGORICAL = ("merchant_category", "country", "channel")  # profiled for drift
RECORD = ("merchant_id", "device_id", "lat", "lon")  # kept for rules and missing rates


@dataclass
class FeatureTable:
    X: np.ndarray
    y: np.ndarray  # 0/1, or -1 where the record had no label
    ts: np.ndarray
    amount: np.ndarray
    transaction_id: list[str] = field(default_factory=list)
    user_id: list[str] = field(default_factory=list)
    categorical: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def labelled(self) -> bool:
        return len(self.y) > 0 and bool((self.y >= 0).all())

    def fingerprint(self) -> dict:
        """What the model was trained on, in a few numbers."""
        if not len(self):
            return {"rows": 0}
        return {
            "rows": len(self),
            "frauds": int((self.y == 1).sum()),
            "users": len(set(self.user_id)),
            "first_timestamp": float(self.ts.min()),
            "last_timestamp": float(self.ts.max()),
        }


class _Builder:
    def __init__(self) -> None:
        self.X: list[np.ndarray] = []
        self.rows: list[list[float]] = []
        self.y: list[int] = []
        self.ts: list[float] = []
        self.amount: list[float] = []
        self.ids: list[str] = []
        self.users: list[str] = []
        self.cats: dict[str, list] = {name: [] for name in CATEGORICAL + RECORD}

    def add(self, txn: Txn, features: list[float]) -> None:
        self.rows.append(features)
        self.y.append(-1 if txn.is_fraud is None else txn.is_fraud)
        self.ts.append(txn.ts)
        self.amount.append(txn.amount)
        self.ids.append(txn.transaction_id)
        self.users.append(txn.user_id)
        cats = self.cats
        cats["merchant_category"].append(txn.merchant_category)
        cats["country"].append(txn.country)
        cats["channel"].append(txn.channel)
        cats["merchant_id"].append(txn.merchant_id)
        cats["device_id"].append(txn.device_id)
        cats["lat"].append(txn.lat)
        cats["lon"].append(txn.lon)

    def build_from(self, txns: list[Txn], X: np.ndarray) -> FeatureTable:
        for txn in txns:
            self.add(txn, None)
        self.rows = []
        self.X = [X]
        return self.build()

    def flush(self) -> None:
        if self.rows:
            self.X.append(np.asarray(self.rows, dtype=np.float64))
            self.rows = []

    def build(self) -> FeatureTable:
        self.flush()
        width = len(FEATURE_NAMES)
        X = np.concatenate(self.X) if self.X else np.empty((0, width))
        return FeatureTable(
            X,
            np.asarray(self.y, dtype=np.int8),
            np.asarray(self.ts, dtype=np.float64),
            np.asarray(self.amount, dtype=np.float64),
            self.ids,
            self.users,
            self.cats,
        )


def collect_features(
    batches: Iterable[list[Item]],
    store: InMemoryStore,
    rejects: RejectSink,
    on_batch: Callable[[int], None] | None = None,
    *,
    strict: bool = False,
    later_labels: dict[str, Label] | None = None,
) -> tuple[FeatureTable, RunSummary]:
    """Point-in-time features of every valid record; rejects (duplicates by the store's
    registry included) go to `rejects`. `later_labels`: labels given to the store right
    after their transaction, each visible from its label_time (`fraudcli.features.labels`).

    From an empty in-process store, the vectorised batch path computes the same features
    (proved equal by a property test) and the state it leaves; otherwise (labels after the
    fact included), or when its preconditions fail (e.g. timestamps out of order), each record
    goes through the store.
    """
    summary, started = RunSummary(), time.perf_counter()
    txns: list[Txn] = []
    for n_read, accepted_txns in accepted(batches, rejects, strict, store.ids):
        txns += accepted_txns
        summary.read += n_read
        if on_batch is not None:
            on_batch(n_read)
    X = None if later_labels else _batch_path(txns, store)
    if X is None:
        X = _one_record_path(txns, store, later_labels or {})
    table = _Builder().build_from(txns, X)
    summary.written, summary.rejected = len(table), rejects.count
    summary.reject_reasons = dict(rejects.reasons)
    summary.seconds = time.perf_counter() - started
    return table, summary


def _batch_path(txns: list[Txn], store: InMemoryStore) -> np.ndarray | None:
    if not store.is_empty():
        return None
    result = batch_features(txns, store.config)
    if result is None:
        return None
    store.take_state(result.store)
    return result.X


def _one_record_path(txns: list[Txn], store: InMemoryStore, labels: dict[str, Label]) -> np.ndarray:
    lookup, update = store.lookup, store.update
    X = np.empty((len(txns), len(FEATURE_NAMES)), dtype=np.float64)
    for i, txn in enumerate(txns):
        X[i] = lookup(txn)
        update(txn)
        if labels and txn.transaction_id in labels:
            store.label([labels[txn.transaction_id]])
    return X


def to_arrow(table: FeatureTable) -> pa.Table:
    """The feature table as Arrow: ids, timestamp, every feature, and the label."""
    columns = {
        "transaction_id": pa.array(table.transaction_id, pa.string()),
        "user_id": pa.array(table.user_id, pa.string()),
        "timestamp": pa.array((table.ts * 1000).round().astype("int64"), pa.timestamp("ms", "UTC")),
    }
    columns |= {name: table.X[:, j] for j, name in enumerate(FEATURE_NAMES)}
    columns["is_fraud"] = pa.array(table.y, pa.int8(), mask=table.y < 0)
    return pa.table(columns)
