"""A bit filter of 64-bit id hashes: `maybe(h)` False means the hash was never added, so the
id is certainly new; True (for an added hash, or by chance for about 6% of others) sends the
id to the exact check. About 16 bits per hash; it grows by rebuilding from every hash."""

from __future__ import annotations

import numpy as np

BITS_PER_HASH = 16
_MIN_LOG2 = 16


class HashFilter:
    def __init__(self, expected: int = 0) -> None:
        log2 = max(_MIN_LOG2, int(max(expected, 1) * BITS_PER_HASH - 1).bit_length())
        self._bits = bytearray(1 << (log2 - 3))
        self._shift = 64 - log2
        self.capacity = (1 << log2) // BITS_PER_HASH  # hashes it holds before it should grow
        self.count = 0

    def maybe(self, h: int) -> int:
        i = h >> self._shift
        return self._bits[i >> 3] >> (i & 7) & 1

    def add(self, h: int) -> None:
        i = h >> self._shift
        self._bits[i >> 3] |= 1 << (i & 7)
        self.count += 1

    def maybe_many(self, hashes: np.ndarray) -> np.ndarray:
        i = hashes >> np.uint64(self._shift)
        bits = np.frombuffer(self._bits, np.uint8)
        return (bits[i >> np.uint64(3)] >> (i & np.uint64(7)).astype(np.uint8)) & 1 == 1

    def add_many(self, hashes: np.ndarray) -> None:
        i = hashes >> np.uint64(self._shift)
        byte = (i >> np.uint64(3)).astype(np.intp)
        mask = np.left_shift(np.uint8(1), (i & np.uint64(7)).astype(np.uint8))
        bits = np.frombuffer(self._bits, np.uint8)  # a writable view of the bytearray
        while len(byte):  # where two hashes share a byte, one write wins: the other goes again
            bits[byte] |= mask
            lost = bits[byte] & mask == 0
            byte, mask = byte[lost], mask[lost]
        self.count += len(hashes)

    def copy(self) -> HashFilter:
        other = HashFilter.__new__(HashFilter)
        other._bits, other._shift = bytearray(self._bits), self._shift
        other.capacity, other.count = self.capacity, self.count
        return other

    @classmethod
    def of(cls, hashes: np.ndarray, expected: int) -> HashFilter:
        """A filter holding `hashes`, sized for `expected` of them."""
        out = cls(expected)
        out.add_many(hashes)
        return out
