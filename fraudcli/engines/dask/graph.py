"""The features of a dataset as one Dask graph: read, find repeated ids, shuffle by user and by
merchant, compute each side per partition, and shuffle the sides back to the input partitions.

    input partitions (sequence ranges) ──► key columns of the valid rows
        ├─ shuffle by transaction_id ──► ids seen twice ──► duplicates by the id window
        │      (`duplicates`: exact) ──► one sorted array, sent to every stage
        ├─ shuffle by user_id (+ stored user state) ──► user side ──► back by sequence
        └─ rows with a merchant: shuffle by merchant_id (+ stored merchant state)
                                           ──► merchant side ──► back by sequence
    each input partition read again ──► rejects, features ──► the command's last stage

A shuffle puts all of a key's rows in one partition: a key with more rows than a worker can
hold (a hot merchant) makes that partition as large (see the README's limitations).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudcli.engines.dask.cluster import SIDE_ROWS
from fraudcli.engines.dask.duplicates import candidates, first_maxima, repeated, windowed
from fraudcli.engines.dask.partition import empty_keys, keys_frame
from fraudcli.engines.dask.plan import InputPart, divisions
from fraudcli.engines.dask.sides import (
    MERCHANT_KEYS,
    MERCHANT_NAMES,
    ROW,
    USER_KEYS,
    USER_NAMES,
    Side,
    merchant_side,
    user_side,
)
from fraudcli.engines.dask.stored import (
    stored_ids,
    stored_merchants,
    stored_newest,
    stored_users,
)
from fraudcli.features.store import StoreConfig
from fraudcli.records.schema import ColumnMap


@dataclass(frozen=True)
class Run:
    """What every stage needs, sent to the workers as plain data."""

    parts: tuple[InputPart, ...]
    columns: ColumnMap
    config: StoreConfig
    need_labels: bool = False
    side_rows: int = SIDE_ROWS  # rows per step of the kernels on a shuffled partition


@dataclass(frozen=True)
class Graph:
    """Lazy (dask.delayed) results: the sorted duplicates' sequence numbers, and per input
    partition its rows' user side and merchant side (frames indexed by sequence number); the
    sides as computed on the shuffled partitions (for their states and sizes)."""

    dups: Any
    newest: Any  # the newest accepted timestamp at the end (the state's included)
    first: Any  # the first valid row's timestamp (NaN: none)
    users: list
    merchants: list
    user_sides: list
    merchant_sides: list


def feature_graph(run: Run, stored: dict[str, pa.Table] | None, keep_state: bool) -> Graph:
    import dask.dataframe as dd
    from dask import delayed

    parts = list(run.parts)
    n = len(parts)
    # one task reads each partition's keys, whatever reads them after: the shuffles and the
    # duplicates' scan (a frame made by `from_map` is read again by each of them)
    run_id = uuid.uuid4().hex  # a run's own task names: nothing shared with another run
    read = [
        delayed(keys_frame)(part, run.columns, run.need_labels,
                            dask_key_name=f"read-keys-{run_id}-{part.index}")
        for part in parts
    ]  # fmt: skip
    keys = dd.from_delayed(read, meta=empty_keys(), divisions=divisions(parts), verify_meta=False)
    ids = keys[["transaction_id", "seq", "ts"]]
    known = stored_ids(stored)
    if known is not None:  # the state's accepted ids come first (negative numbers)
        ids = dd.concat([ids, dd.from_pandas(known, npartitions=_stored_parts(known, n))])
    found = [
        delayed(repeated)(p) for p in ids.shuffle(on="transaction_id", npartitions=n).to_delayed()
    ]
    seen_again = delayed(candidates)(found)
    maxima = [delayed(first_maxima)(p, seen_again) for p in read]
    walked = delayed(windowed)(found, maxima, run.config.id_window, stored_newest(stored))
    dups = walked.seqs
    users, n_users = _with_stored(keys[USER_KEYS], stored_users(stored), n)
    with_merchant = keys[~keys["merchant_id"].isna()][MERCHANT_KEYS]
    merchants, n_merchants = _with_stored(with_merchant, stored_merchants(stored), n)
    config = run.config
    user_sides = [
        delayed(user_side)(p, dups, config, keep_state, n_users, run.side_rows)
        for p in users.shuffle(on="user_id", npartitions=n).to_delayed()
    ]
    merchant_sides = [
        delayed(merchant_side)(p, dups, config, keep_state, n_merchants, run.side_rows)
        for p in merchants.shuffle(on="merchant_id", npartitions=n).to_delayed()
    ]
    return Graph(
        dups,
        walked.newest,
        walked.first,
        _back(user_sides, USER_NAMES, parts),
        _back(merchant_sides, MERCHANT_NAMES, parts),
        user_sides,
        merchant_sides,
    )


def _with_stored(rows, stored: pd.DataFrame | None, n: int):
    """`rows` and the stored state's rows of the same side in one frame (`kind` tells them
    apart), so one shuffle brings each key's stored entries to the partition of its rows."""
    import dask.dataframe as dd

    if stored is None or not len(stored):
        return rows, 0
    marked = rows.assign(kind=np.int8(ROW), loc_ts=np.nan)
    stored = stored[list(marked.columns)]
    return dd.concat([marked, dd.from_pandas(stored, npartitions=_stored_parts(stored, n))]), len(
        stored
    )


def _stored_parts(frame: pd.DataFrame, n: int) -> int:
    return min(n, 1 + len(frame) // 100_000)


def _back(sides: list, names: list[str], parts: list[InputPart]) -> list:
    """Each side's features shuffled back to the input partitions, by sequence number."""
    import dask.dataframe as dd
    from dask import delayed

    meta = pd.DataFrame({"seq": pd.Series([], dtype=np.int64)} | {
        name: pd.Series([], dtype=np.float64) for name in names
    })  # fmt: skip
    frames = dd.from_delayed([delayed(_features)(side) for side in sides], meta=meta)
    return frames.set_index("seq", divisions=divisions(parts)).to_delayed()


def _features(side: Side) -> pd.DataFrame:
    return side.features
