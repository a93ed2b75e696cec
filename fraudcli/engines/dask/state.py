"""The store's state at the end of a Dask run, in the tables the embedded store snapshots
(`fraudcli.features.snapshot`): what each shuffled partition's side leaves, put back together
in the order of the embedded run (keys by first appearance), with the columns the embedded
snapshot has and the side's `ColumnState` does not keep:

    user_entries      cum_amount, each user's running sum of its kept entries from 0.0, added
                      one by one in time order (`running_sums`): the floats the embedded batch
                      path stores (`fraudcli.features.batch_state`)
    label_changes     as the merchants' sides leave them (none in training: labels given
                      inline are seen at t + d, never changed after)
    transactions      the id registry: the accepted records (input order) within the dedupe
                      window of the newest (`registry_table`)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.features.snapshot import LABEL_CHANGES_SCHEMA
from fraudcli.records.id_registry import TABLE_SCHEMA

_FEW = 16  # groups still open when the positional loop hands over to one cumsum per group


def running_sums(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For rows grouped by `keys` (each group's rows together, in order), each group's running
    sum through the row, added one value at a time from the group's first (as `np.cumsum` of
    the group alone, to the bit, without a Python call per group)."""
    n = len(values)
    out = np.empty(n, dtype=np.float64)
    if not n:
        return out
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    ends = np.append(starts[1:], n)
    out[starts] = values[starts]
    open_ = np.flatnonzero(ends - starts > 1)
    k = 1
    while len(open_) > _FEW:
        rows = starts[open_] + k
        out[rows] = out[rows - 1] + values[rows]
        k += 1
        open_ = open_[ends[open_] - starts[open_] > k]
    for g in open_.tolist():
        a, b = int(starts[g]) + k - 1, int(ends[g])
        out[a:b] = np.cumsum(np.concatenate(([out[a]], values[a + 1 : b])))
    return out


def with_running_sums(entries: pa.Table) -> pa.Table:
    """`user_entries` (grouped by user, time order within) with its `cum_amount` column."""
    codes = pc.dictionary_encode(entries["user_id"]).combine_chunks().indices.to_numpy()
    amount = entries["amount"].to_numpy()
    sums = running_sums(np.asarray(codes), np.asarray(amount, dtype=np.float64))
    return entries.append_column("cum_amount", pa.array(sums, pa.float64()))


def trained_state(gathered: dict[str, pa.Table], registry: pa.Table) -> dict[str, pa.Table]:
    """The state `fraud train` puts in its bundle, as the embedded batch path leaves it: the
    sides' tables gathered, user entries with their running sums, and the id registry."""
    return {
        "user_entries": with_running_sums(gathered["user_entries"]),
        "user_last": gathered["user_last"],
        "merchant_entries": gathered["merchant_entries"],
        "label_changes": gathered["label_changes"].cast(LABEL_CHANGES_SCHEMA),
        "transactions": registry,
    }


def registry_table(
    ids: pa.Array, ts: np.ndarray, merchant: pa.Array, label: np.ndarray, since: float
) -> pa.Table:
    """The id registry's table (`IdRegistry.table`) of accepted records (input order) with a
    timestamp after `since` (N - W); `label` -1 where a record has none."""
    keep = ts > since
    label = np.asarray(label[keep], dtype=np.int8)
    n = int(keep.sum())
    mask = pa.array(keep)
    return pa.table(
        {
            "transaction_id": ids.filter(mask).cast(pa.string()),
            "ts": pa.array(ts[keep], pa.float64()),
            "merchant_id": merchant.filter(mask).cast(pa.string()),
            "is_fraud": pa.array(label, pa.int8(), mask=label < 0),
            "label_arrival": pa.nulls(n, pa.float64()),
        },
        schema=TABLE_SCHEMA,
    )
