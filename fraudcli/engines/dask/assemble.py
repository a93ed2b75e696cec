"""The last stage of every Dask run, per input partition: its rows read again, duplicates and
bad rows made rejects, and each row's 26 features put together from the time features (the
row's own), the user side and the merchant side (shuffled back to this partition by sequence
number). Rows without a merchant get the no-history values (zeros), as on the embedded path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudcli.engines.dask.partition import blocks
from fraudcli.engines.dask.plan import InputPart
from fraudcli.features.batch import MERCHANT, TIME, USER, time_feature_columns
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.records.columns import ValidBlock
from fraudcli.records.duplicates import duplicate_rejects
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import ColumnMap


@dataclass(frozen=True)
class Piece:
    """One block of the partition: `keep` marks its valid rows that are not duplicates (None:
    all of them), `X` their features (input order)."""

    block: ValidBlock
    keep: np.ndarray | None
    X: np.ndarray
    rejects: list[Reject]

    def kept(self, name: str) -> pa.Array:
        array = self.block.data[name]
        return array if self.keep is None else array.filter(pa.array(self.keep))


def pieces(
    part: InputPart,
    users: pd.DataFrame,
    merchants: pd.DataFrame,
    dups: np.ndarray,
    columns: ColumnMap,
    need_labels: bool,
) -> Iterator[Piece]:
    """The partition's blocks with their features. `users` and `merchants` are the sides of
    this partition's rows, indexed by sequence number in order (`set_index("seq")`)."""
    user_seq, merchant_seq = users.index.to_numpy(), merchants.index.to_numpy()
    user_x = users.to_numpy(dtype=np.float64)
    merchant_x = merchants.to_numpy(dtype=np.float64)
    for block in blocks(part, columns, need_labels):
        seq = block.lines - 1
        repeated = np.isin(seq, dups)
        rejects = block.rejects
        if repeated.any():
            again = duplicate_rejects(block, np.flatnonzero(repeated))
            rejects = sorted([*rejects, *again], key=lambda r: r.line)
        keep = None if not repeated.any() else ~repeated
        seq = seq[~repeated]
        X = np.zeros((len(seq), len(FEATURE_NAMES)), dtype=np.float64)
        piece = Piece(block, keep, X, rejects)
        ts = piece.kept("ts").to_numpy(zero_copy_only=False)
        amount = piece.kept("amount").to_numpy(zero_copy_only=False)
        X[:, TIME] = time_feature_columns(ts, amount)
        X[:, USER] = user_x[_places(user_seq, seq, every=True)]
        found = _places(merchant_seq, seq, every=False)
        X[found >= 0, MERCHANT] = merchant_x[found[found >= 0]]
        yield piece


def _places(index: np.ndarray, seq: np.ndarray, every: bool) -> np.ndarray:
    """The place of each sequence number in the sorted `index` (-1 where absent)."""
    at = np.minimum(np.searchsorted(index, seq), max(len(index) - 1, 0))
    found = (index[at] == seq) if len(index) else np.zeros(len(seq), dtype=bool)
    if every and not found.all():
        raise RuntimeError("a row's user side is missing after the shuffle (a bug)")
    return np.where(found, at, -1)
