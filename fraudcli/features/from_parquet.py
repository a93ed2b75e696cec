"""The feature table of a clean Parquet file without a Python object per row (for `train`).

When every row passes the column checks of `fraudcli.records.columns`, no `transaction_id` repeats
and (for training) every row has a label, the rows go from Arrow arrays straight to the vectorised
batch features. Otherwise this returns None and the caller takes the record-by-record path, which
gives the same table plus a reject for each bad row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudcli.features.batch import batch_features_columns
from fraudcli.features.batch_groups import Codes, TxnColumns
from fraudcli.features.feature_table import CATEGORICAL, RECORD, FeatureTable
from fraudcli.features.store import InMemoryStore
from fraudcli.io.dataset import dataset_files
from fraudcli.io.formats import Format, input_format
from fraudcli.records.columns import clean_mask, renamed
from fraudcli.records.iso_columns import timestamps
from fraudcli.records.schema import FIELDS, ColumnMap

BATCH_ROWS = 65_536


def clean_parquet_table(
    path: Path,
    columns: ColumnMap,
    store: InMemoryStore,
    *,
    need_labels: bool,
    on_batch: Callable[[int], None] | None = None,
) -> FeatureTable | None:
    """The feature table of `path` (a file or a dataset's files in input order) computed from
    its columns, filling the empty `store`; or None when the input is not Parquet, not clean,
    or the batch path's preconditions fail."""
    if input_format(path) is not Format.PARQUET or not store.is_empty():
        return None
    data = _clean_columns(path, columns, need_labels, on_batch)
    if data is None:
        return None
    txn_columns = _txn_columns(data)
    result = batch_features_columns(txn_columns, store.config)
    if result is None:
        return None
    store.take_state(result.store)
    if store.ids is not None:  # every id is new (`_clean_columns` checked): all accepted
        label = data.get("is_fraud")
        labels = None if label is None else txn_columns.label.astype("int8")
        store.ids.admit_block(
            data["transaction_id"], txn_columns.ts, data.get("merchant_id"), labels
        )
    return _table(data, result.X)


def _clean_columns(path, columns, need_labels, on_batch) -> dict[str, pa.ChunkedArray] | None:
    """The schema columns of the whole file, or None at the first sign of anything unclean
    (a broken file included: the record path then says what is wrong, row by row)."""
    chunks: dict[str, list[pa.Array]] = {}
    try:
        for batch in _batches(path):
            data = renamed(batch, columns)
            if not clean_mask(data, batch.num_rows).all():
                return None
            if need_labels and ("is_fraud" not in data or data["is_fraud"].null_count):
                return None
            for name in FIELDS:
                if name in data:
                    chunks.setdefault(name, []).append(data[name])
            if on_batch is not None:
                on_batch(batch.num_rows)
    except (OSError, pa.ArrowException):
        return None
    if not chunks:
        return None
    out = {name: pa.chunked_array(arrays) for name, arrays in chunks.items()}
    if len(pc.unique(out["transaction_id"])) != len(out["transaction_id"]):
        return None  # a duplicate: the record path rejects it with its row number
    return out


def _batches(path: Path):
    for file in dataset_files(path):
        yield from pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS)


def _list(data: dict, name: str, n: int) -> list:
    return data[name].to_pylist() if name in data else [None] * n


def _floats(data: dict, name: str, n: int) -> np.ndarray:
    if name not in data:
        return np.full(n, np.nan)
    return pc.fill_null(data[name].cast(pa.float64()), np.nan).to_numpy()


def _txn_columns(data: dict) -> TxnColumns:
    n = len(data["transaction_id"])
    labels = pc.fill_null(data["is_fraud"], 0) if "is_fraud" in data else pa.array(np.zeros(n))
    return TxnColumns(
        ts=_ts(data),
        amount=_floats(data, "amount", n),
        label=np.asarray(labels.to_numpy(), dtype=np.int64),
        lat=_floats(data, "lat", n),
        lon=_floats(data, "lon", n),
        user=Codes.of(_list(data, "user_id", n)),
        merchant=Codes.of(_list(data, "merchant_id", n)),
        country=Codes.of(_list(data, "country", n)),
        device=Codes.of(_list(data, "device_id", n)),
    )


def _ts(data: dict) -> np.ndarray:
    return np.concatenate([timestamps(chunk) for chunk in data["timestamp"].chunks])


def _table(data: dict, X: np.ndarray) -> FeatureTable:
    n = len(X)
    y = data["is_fraud"] if "is_fraud" in data else pa.nulls(n, pa.int8())
    categorical = {name: _list(data, name, n) for name in CATEGORICAL + RECORD}
    return FeatureTable(
        X=X,
        y=np.asarray(pc.fill_null(y.cast(pa.int8()), -1).to_numpy(), dtype=np.int8),
        ts=_ts(data),
        amount=_floats(data, "amount", n),
        transaction_id=_list(data, "transaction_id", n),
        user_id=_list(data, "user_id", n),
        categorical=categorical,
    )
