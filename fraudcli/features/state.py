"""Per-user and per-merchant state: sorted timestamps with prefix sums, bounded in time.

Entries are kept sorted by timestamp (input order among equal timestamps), so a window
(a, b] is two bisections and a prefix-sum difference, whatever order the input came in.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from fraudcli.features.spec import NEW_WINDOW

_PRUNE_MIN = 32  # expire in chunks: deleting a list's head costs its length


class UserState:
    __slots__ = ("ts", "cum", "merchant", "country", "device", "last_seen", "prev_ts", "loc")

    def __init__(self) -> None:
        self.ts: list[float] = []
        self.cum: list[float] = [0.0]  # cum[i] = sum of the amounts before entry i
        self.merchant: list[str | None] = []
        self.country: list[str | None] = []
        self.device: list[str | None] = []
        # (merchant, country, device) -> newest timestamp each value was seen with; answers
        # "is it new?" without a scan when the record is not older than the newest entry
        self.last_seen: tuple[dict, dict, dict] = ({}, {}, {})
        self.prev_ts: float | None = None  # previous in input order
        self.loc: tuple[float, float, float] | None = None  # (lat, lon, ts) of previous located

    def add(self, ts: float, amount: float, merchant, country, device, horizon: float) -> None:
        times = self.ts
        seen_m, seen_c, seen_d = self.last_seen
        if not times or times[-1] <= ts:  # in order: no search, and `ts` is the newest seen
            times.append(ts)
            cum = self.cum
            cum.append(cum[-1] + amount)
            self.merchant.append(merchant)
            self.country.append(country)
            self.device.append(device)
            if merchant is not None:
                seen_m[merchant] = ts
            if country is not None:
                seen_c[country] = ts
            if device is not None:
                seen_d[device] = ts
        else:
            self._insert(bisect_right(times, ts), ts, amount, merchant, country, device)
            if merchant is not None and seen_m.get(merchant, -1.0) < ts:
                seen_m[merchant] = ts
            if country is not None and seen_c.get(country, -1.0) < ts:
                seen_c[country] = ts
            if device is not None and seen_d.get(device, -1.0) < ts:
                seen_d[device] = ts
        cutoff = times[-1] - horizon
        quarter = (len(times) + 3) // 4  # `prune_at`, spelled out: once per record
        if times[(quarter if quarter < _PRUNE_MIN else _PRUNE_MIN) - 1] <= cutoff:
            self._expire(cutoff, lazy=horizon >= NEW_WINDOW)

    def _insert(self, pos: int, ts: float, amount: float, merchant, country, device) -> None:
        amounts = [b - a for a, b in zip(self.cum, self.cum[1:], strict=False)]
        amounts.insert(pos, amount)
        self.ts.insert(pos, ts)
        self.merchant.insert(pos, merchant)
        self.country.insert(pos, country)
        self.device.insert(pos, device)
        self.cum = prefix_sums(amounts, self.cum[0])

    def _expire(self, cutoff: float, lazy: bool = False) -> None:
        """Drop the entries at or before `cutoff`. Newest-seen times that old are dropped too,
        or, when `lazy` (the horizon covers the novelty window, so such a time can never count
        as seen), only once a dict holds more values than there are entries."""
        k = bisect_right(self.ts, cutoff)
        del self.ts[:k], self.merchant[:k], self.country[:k], self.device[:k]
        base = self.cum[k]  # rebase, so rounding stays relative to 30 days of amounts
        self.cum = [c - base for c in self.cum[k:]]
        n = len(self.ts)
        if not lazy or any(len(seen) > n for seen in self.last_seen):
            self.last_seen = tuple(
                {v: t for v, t in seen.items() if t > cutoff} for seen in self.last_seen
            )


class MerchantState:
    __slots__ = ("ts", "cum_fraud", "changes", "last_arrival")

    def __init__(self) -> None:
        self.ts: list[float] = []
        self.cum_fraud: list[int] = [0]  # cum_fraud[i] = frauds among the entries before i
        # labels changed after the fact that a lookup before their arrival must not see:
        # (entry ts, arrival, new - old) each (`fraudcli.features.labels`); None when none
        self.changes: list[tuple[float, float, int]] | None = None
        self.last_arrival = -math.inf

    def add(self, ts: float, is_fraud: int, horizon: float) -> None:
        times = self.ts
        if not times or times[-1] <= ts:  # in order: no search
            times.append(ts)
            cum = self.cum_fraud
            cum.append(cum[-1] + is_fraud)
        else:
            pos = bisect_right(times, ts)
            labels = [b - a for a, b in zip(self.cum_fraud, self.cum_fraud[1:], strict=False)]
            labels.insert(pos, is_fraud)
            times.insert(pos, ts)
            self.cum_fraud = prefix_sums(labels, self.cum_fraud[0])
        cutoff = times[-1] - horizon
        quarter = (len(times) + 3) // 4
        if times[(quarter if quarter < _PRUNE_MIN else _PRUNE_MIN) - 1] <= cutoff:
            k = bisect_right(times, cutoff)
            del times[:k], self.cum_fraud[:k]
            if self.changes is not None:
                self.forget_changes(cutoff)

    def forget_changes(self, cutoff: float) -> None:
        """Drop the label changes of entries at or before `cutoff` (expired with them)."""
        kept = [change for change in self.changes if change[0] > cutoff]
        self.changes = kept or None
        self.last_arrival = max((c[1] for c in kept), default=-math.inf)


def prune_at(n: int) -> int:
    """Entries expire in chunks, at least _PRUNE_MIN of them or a quarter of the n entries,
    whichever is fewer (deleting a list's head costs its length): the chunk is ripe when
    its last entry is past the horizon. One comparison per update instead of a search."""
    quarter = (n + 3) // 4
    return (quarter if quarter < _PRUNE_MIN else _PRUNE_MIN) - 1


def prefix_sums(values: list, start):
    out = [start]
    total = start
    for value in values:
        total += value
        out.append(total)
    return out
