"""The records of a run, looped: record k is copy k // n of input record k % n."""

from __future__ import annotations

from collections.abc import Sequence

from fraudcli.records.schema import Txn


class Feed:
    """Record k of the run: copy k // n of input record k % n. Copies after the first are
    shifted forward by `shift_s` per pass and get ids suffixed ~2, ~3, ... (no duplicates)."""

    def __init__(self, records: Sequence[Txn], shift_s: float) -> None:
        self.records, self.n, self.shift_s = records, len(records), shift_s

    def __call__(self, k: int) -> Txn:
        loop, j = divmod(k, self.n)
        txn = self.records[j]
        return txn if loop == 0 else shifted(txn, loop, loop * self.shift_s)

    def loops(self, count: int) -> int:
        return -(-count // self.n)


def shifted(txn: Txn, loop: int, seconds: float) -> Txn:
    """A copy of `txn` for pass `loop` + 1, `seconds` later, with a unique id."""
    return Txn(
        transaction_id=f"{txn.transaction_id}~{loop + 1}", ts=txn.ts + seconds,
        user_id=txn.user_id, amount=txn.amount, merchant_id=txn.merchant_id,
        merchant_category=txn.merchant_category, country=txn.country, lat=txn.lat, lon=txn.lon,
        device_id=txn.device_id, channel=txn.channel, is_fraud=txn.is_fraud, extras=txn.extras,
    )  # fmt: skip
