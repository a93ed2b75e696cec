"""Numeric Arrow columns as NumPy arrays, read from their buffers, and back.

Arrow's own `to_numpy` (and `pa.array`, `pa.scalar`) import pandas the first time they run,
a quarter of a second that a command deciding one record does not otherwise pay; this reads
the data buffer directly, and the validity bitmap for the nulls (`numbers`), and makes arrays
and scalars from buffers (`arrow_array`, `text_scalar`).
"""

from __future__ import annotations

import struct
import sys

import numpy as np
import pyarrow as pa

LONG_LIST = 100_000
_DTYPES = {
    pa.float64(): np.float64,
    pa.float32(): np.float32,
    pa.int64(): np.int64,
    pa.int32(): np.int32,
    pa.int16(): np.int16,
    pa.int8(): np.int8,
    pa.uint8(): np.uint8,
}


def arrow_array(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """A NumPy array of a type in `_DTYPES` as an Arrow array sharing its memory; nulls where
    the boolean `null` is set."""
    values = np.ascontiguousarray(values)
    kind = next(t for t, dtype in _DTYPES.items() if values.dtype == dtype)
    validity, nulls = _validity(null)
    buffers = [validity, pa.py_buffer(values)]
    return pa.Array.from_buffers(kind, len(values), buffers, null_count=nulls)


def arrow_list(values: list, kind: pa.DataType) -> pa.Array:
    """A Python list (None for null) as an Arrow array of `kind` (string, or a type in
    `_DTYPES`), made from buffers when short. (`pa.array` converts long lists quicker, and
    loads pandas the first time: worth it for those, or once pandas is loaded anyway.)"""
    n = len(values)
    if n > LONG_LIST or "pandas" in sys.modules:
        return pa.array(values, kind)
    null = np.fromiter((v is None for v in values), bool, n)
    if kind == pa.string():
        encoded = [b"" if v is None else v.encode("utf-8", "surrogatepass") for v in values]
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, n), out=offsets[1:])
        if offsets[-1] >= 1 << 31:  # beyond 32-bit offsets: Arrow's own conversion
            return pa.array(values, kind)
        validity, nulls = _validity(null)
        buffers = [
            validity,
            pa.py_buffer(offsets.astype(np.int32)),
            pa.py_buffer(b"".join(encoded)),
        ]
        return pa.Array.from_buffers(kind, n, buffers, null_count=nulls)
    dtype = _DTYPES[kind]
    filler = dtype(0)
    data = np.fromiter((filler if v is None else v for v in values), dtype, n)
    return arrow_array(data, null)


def _validity(null: np.ndarray | None) -> tuple[pa.Buffer | None, int]:
    """Arrow's validity bitmap (None: no nulls) and the null count."""
    nulls = 0 if null is None else int(np.count_nonzero(null))
    if not nulls:
        return None, 0
    return pa.py_buffer(np.packbits(~null, bitorder="little")), nulls


def text_scalar(text: str) -> pa.StringScalar:
    """An Arrow string scalar made from its buffers."""
    data = text.encode("utf-8", "surrogatepass")
    offsets = pa.py_buffer(struct.pack("<2i", 0, len(data)))
    return pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(data)])[0]


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
