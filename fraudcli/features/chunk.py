"""New rows as `fraudcli.features.continued.ColumnState` takes them: string keys coded as
stable integers by a `Vocab` each (users, merchants, countries, devices), the chunk's columns as
arrays in a `Chunk`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Chunk", "Vocab"]


class Vocab:
    """Strings -> stable integer codes (order of first appearance); None -> -1."""

    def __init__(self) -> None:
        self.values = np.empty(0, dtype=object)
        self._index = pd.Index(self.values)

    def codes(self, array: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The codes of a string column, adding the strings not seen before."""
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        encoded = array if pa.types.is_dictionary(array.type) else pc.dictionary_encode(array)
        words = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
        known = self._index.get_indexer(words)
        if (known < 0).any():
            # new words in order of first appearance in the column, as the one-record dicts
            indices = pc.fill_null(encoded.indices, -1).to_numpy()
            firsts = pd.unique(indices[indices >= 0])
            fresh = firsts[known[firsts] < 0]
            self.values = np.concatenate([self.values, words[fresh]])
            self._index = pd.Index(self.values)
            known = self._index.get_indexer(words)
        mapping = np.append(known, -1)  # null indices become -1 through the extra slot
        indices = pc.fill_null(encoded.indices, len(known)).to_numpy()
        return mapping[indices].astype(np.int64, copy=False)

    def words(self, codes: np.ndarray) -> list:
        with_none = np.append(self.values, None)
        return with_none[codes].tolist()


@dataclass
class Chunk:
    """New rows as arrays, keys already coded by the state's vocabularies."""

    ts: np.ndarray
    amount: np.ndarray
    label: np.ndarray  # is_fraud with None as 0
    lat: np.ndarray  # NaN where unknown
    lon: np.ndarray
    user: np.ndarray
    merchant: np.ndarray
    country: np.ndarray
    device: np.ndarray
