"""Small Arrow helpers the column checks share."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def filled(array: pa.Array, value) -> np.ndarray:
    """`array` as NumPy, nulls replaced by `value`."""
    import pyarrow.compute as pc  # (column paths only: not at start)

    return pc.fill_null(array, value).to_numpy(zero_copy_only=False)


def is_string(array: pa.Array | None) -> bool:
    return array is not None and (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    )
