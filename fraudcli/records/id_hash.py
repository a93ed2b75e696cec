"""A 64-bit hash of a transaction_id, the same from one string (`id_hash`, plain Python, for
the record path) and from a whole Arrow column (`id_hashes`, NumPy, for the column path).

The id's UTF-8 bytes and a terminating 0x01 byte, read as one little-endian integer, modulo
the Mersenne prime 2**61 - 1, then multiplied by an odd constant modulo 2**64 so that every
bit depends on every byte. In Python that is one `int.from_bytes` and one `%`; over a column
it is the same number computed 8 bytes at a time: a word at byte offset 8i weighs
2**(64 i) = 2**(3i mod 61) modulo the prime, a rotation of 61 bits. Equal ids hash alike; the
registry compares the strings of ids whose hashes meet, so a collision costs time, never a
wrong answer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_P = (1 << 61) - 1
_MIX = 0x9E3779B97F4A7C15  # odd: multiplying by it modulo 2**64 is a bijection
_M64 = (1 << 64) - 1


def id_hash(tid: str) -> int:
    """The hash of one id (an int below 2**64), as `id_hashes` gives it."""
    value = int.from_bytes(tid.encode("utf-8", "surrogatepass") + b"\x01", "little")
    return ((value % _P) * _MIX) & _M64


def id_hashes(ids: pa.Array) -> np.ndarray:
    """uint64 hashes of a string array without nulls: `id_hash` of each string."""
    offsets = np.frombuffer(ids.buffers()[1], np.int32, len(ids) + 1, 4 * ids.offset)
    data = ids.buffers()[2]
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    out = np.empty(len(ids), dtype=np.uint64)
    for length in np.unique(lengths).tolist():  # ids have few lengths (often one)
        rows = np.flatnonzero(lengths == length)
        out[rows] = _equal_length(_bytes_matrix(data, offsets, rows, length), length)
    return out


def _bytes_matrix(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, length: int):
    """The bytes of strings `rows` (all `length` long) as a rows x length matrix."""
    first = int(offsets[rows[0]]) if len(rows) else 0
    if len(rows) == len(offsets) - 1:  # every string: they lie back to back
        return data[first : first + length * len(rows)].reshape(len(rows), length)
    return data[offsets[rows][:, None] + np.arange(length)]


def _equal_length(matrix: np.ndarray, length: int) -> np.ndarray:
    words = length // 8 + 1  # room for the terminating byte
    padded = np.zeros((len(matrix), 8 * words), dtype=np.uint8)
    padded[:, :length] = matrix
    padded[:, length] = 1
    columns = np.ascontiguousarray(padded.view("<u8").T)  # word i of every id, side by side
    total = np.zeros(len(matrix), dtype=np.uint64)
    high = np.empty_like(total)
    for i, word in enumerate(columns):
        # word * 2**(3i) modulo P, as a rotation (any uint64 in, below 2**63 out), added to
        # the total, which is then folded (below 2**61 + 8 after each fold)
        shift = 3 * i % 61
        if shift:
            np.right_shift(word, np.uint64(61 - shift), out=high)
            np.left_shift(word, np.uint64(shift), out=word)
        else:  # the first word, and every 61st: folded, so the sum stays in 64 bits
            np.right_shift(word, _61, out=high)
        np.bitwise_and(word, _PU, out=word)
        word += high
        total += word
        np.right_shift(total, _61, out=high)
        np.bitwise_and(total, _PU, out=total)
        total += high
    total = np.where(total >= _PU, total - _PU, total)
    return total * np.uint64(_MIX)  # wraps modulo 2**64, as `& _M64` does in Python


_PU = np.uint64(_P)
_61 = np.uint64(61)
