"""Numeric Arrow columns as NumPy arrays, read from their buffers.

Arrow's own `to_numpy` (and `pa.array`, `pa.scalar`) import pandas the first time they run,
a quarter of a second that a command deciding one record does not otherwise pay; this reads
the data buffer directly, and the validity bitmap for the nulls.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_DTYPES = {
    pa.float64(): np.float64,
    pa.float32(): np.float32,
    pa.int64(): np.int64,
    pa.int32(): np.int32,
    pa.int16(): np.int16,
    pa.int8(): np.int8,
    pa.uint8(): np.uint8,
}


def numbers(column: pa.ChunkedArray | pa.Array, fill: float | int = np.nan) -> np.ndarray:
    """`column` (of a fixed-width numeric type) as an array of its type, nulls as `fill`."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    dtype = _DTYPES[column.type]
    parts = [_chunk(chunk, dtype, fill) for chunk in chunks if len(chunk)]
    if not parts:
        return np.empty(0, dtype)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _chunk(chunk: pa.Array, dtype, fill) -> np.ndarray:
    validity, data = chunk.buffers()[:2]
    n, start = len(chunk), chunk.offset
    values = np.frombuffer(data, dtype, n, start * np.dtype(dtype).itemsize)
    if not chunk.null_count:
        return values
    bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
    out = values.copy()
    out[bits[start : start + n] == 0] = fill
    return out
