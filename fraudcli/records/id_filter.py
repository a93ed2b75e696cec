"""A bit filter of this process's hashes of ids (Python's `hash` of the string, which a
record's id has computed anyway for the dict it lands in): `test_and_set(h)` False means the id
was never added, so it is certainly new; True (for an added id, or by chance for about 6% of
others at 16 bits an id) sends it to the exact check. It grows by being made again."""

from __future__ import annotations

import numpy as np

BITS_PER_HASH = 16
_MIN_LOG2 = 16


class HashFilter:
    def __init__(self, expected: int = 0) -> None:
        log2 = max(_MIN_LOG2, int(max(expected, 1) * BITS_PER_HASH - 1).bit_length())
        self._bits = bytearray(1 << (log2 - 3))
        self._mask = (1 << log2) - 1
        self.capacity = (1 << log2) // BITS_PER_HASH  # hashes it holds before it should grow
        self.count = 0

    def test_and_set(self, h: int) -> bool:
        """Whether the hash perhaps was there before; it is there after."""
        i = h & self._mask
        bits, byte, bit = self._bits, i >> 3, 1 << (i & 7)
        old = bits[byte]
        if old & bit:
            return True
        bits[byte] = old | bit
        self.count += 1
        return False

    def add_many(self, hashes: np.ndarray) -> None:
        i = hashes & np.int64(self._mask)
        byte = (i >> 3).astype(np.intp)
        mask = np.left_shift(np.uint8(1), (i & 7).astype(np.uint8))
        bits = np.frombuffer(self._bits, np.uint8)  # a writable view of the bytearray
        while len(byte):  # where two hashes share a byte, one write wins: the other goes again
            bits[byte] |= mask
            lost = bits[byte] & mask == 0
            byte, mask = byte[lost], mask[lost]
        self.count += len(hashes)

    def copy(self) -> HashFilter:
        other = HashFilter.__new__(HashFilter)
        other._bits, other._mask = bytearray(self._bits), self._mask
        other.capacity, other.count = self.capacity, self.count
        return other

    @classmethod
    def of(cls, ids: list[str], expected: int) -> HashFilter:
        """A filter holding `ids`, sized for `expected` of them."""
        out = cls(expected)
        out.add_many(np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids)))
        return out
