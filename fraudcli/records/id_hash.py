"""A 64-bit hash of a transaction_id, the same from one string (`id_hash`, plain Python, for
the record path) and from a whole Arrow column (`id_hashes`, NumPy, for the column path).

The id's UTF-8 bytes and a terminating 0x01 byte, cut into little-endian 64-bit words w_i, give
the sum of w_i * c_i modulo the Mersenne prime P = 2**61 - 1 (c_i fixed odd 32-bit weights
that look random), then multiplied by an odd constant modulo 2**64 so that every bit depends
on every byte. Over a column it is the same number computed a word at a time, each product
modulo P made of two 64-bit ones. (Weights that were powers of two made ids that differ in a
few digits, such as the same counter on another day, collide by the thousand: a linear
combination of small digit differences with power-of-two weights is often 0 modulo P.) Equal
ids hash alike; the registry compares the strings of ids whose hashes meet, so a collision
costs time, never a wrong answer.
"""

from __future__ import annotations

import struct
from operator import mul

import numpy as np
import pyarrow as pa

_P = (1 << 61) - 1
_MIX = 0x9E3779B97F4A7C15  # odd: multiplying by it modulo 2**64 is a bijection
_M64 = (1 << 64) - 1
_WEIGHTS: list[int] = []  # the weight of each word: odd, 32 bits, made as long ids need them


def _weights(n: int) -> list[int]:
    while len(_WEIGHTS) < n:
        _WEIGHTS.append(((len(_WEIGHTS) + 1) * _MIX >> 29) & 0xFFFFFFFF | 1)
    return _WEIGHTS


def id_hash(tid: str) -> int:
    """The hash of one id (an int below 2**64), as `id_hashes` gives it."""
    data = tid.encode("utf-8", "surrogatepass") + b"\x01"
    data += bytes(-len(data) % 8)
    n = len(data) >> 3
    total = sum(map(mul, struct.unpack(f"<{n}Q", data), _weights(n))) % _P
    return (total * _MIX) & _M64


def id_hashes(ids: pa.Array) -> np.ndarray:
    """uint64 hashes of a string array without nulls: `id_hash` of each string."""
    offsets = np.frombuffer(ids.buffers()[1], np.int32, len(ids) + 1, 4 * ids.offset)
    data = ids.buffers()[2]
    data = np.frombuffer(data, np.uint8) if data is not None else np.empty(0, np.uint8)
    lengths = np.diff(offsets)
    out = np.empty(len(ids), dtype=np.uint64)
    for length in np.flatnonzero(np.bincount(lengths)).tolist():  # ids have few lengths (often one)
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
    for word, weight in zip(columns, _weights(words), strict=False):
        total += _times_mod_p(_folded(word), weight)  # each below 2**61 + 8: no overflow
        total = _folded(total)
    total = _folded(total)
    total = np.where(total >= _PU, total - _PU, total)
    return total * np.uint64(_MIX)  # wraps modulo 2**64, as `& _M64` does in Python


def _folded(x: np.ndarray) -> np.ndarray:
    """x modulo P, up to one P too many (below 2**61 + 8): 2**61 is 1 modulo P."""
    return (x & _PU) + (x >> _61)


def _times_mod_p(a: np.ndarray, weight: int) -> np.ndarray:
    """a * weight modulo P, up to a few P too many (below 2**62 + 2**34), for a < 2**62 and
    weight < 2**32: a's high and low 32 bits times the weight, 2**61 being 1 modulo P."""
    weight = np.uint64(weight)
    high = (a >> _32) * weight  # below 2**62; times 2**32: (high >> 29) * 2**61 + ...
    low = (a & _LOW32) * weight  # below 2**64
    return (high >> _29) + ((high & _LOW29) << _32) + _folded(low)


_PU = np.uint64(_P)
_61, _32, _29 = np.uint64(61), np.uint64(32), np.uint64(29)
_LOW32, _LOW29 = np.uint64(0xFFFFFFFF), np.uint64((1 << 29) - 1)
