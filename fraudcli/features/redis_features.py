"""The features of a transaction from the Redis store's reply (`redis_store.lua`), with the
embedded store's arithmetic: `user_row`'s bisections, windows, gap, travel and novelty over the
user's state and its 30 days of entries, `merchant_features`' rates over the counts the script
made. And how the script stores a value (`encoded`): "" for none, else "=" and its text with
"\\" as "\\\\" and the separator "\\x1f" as "\\u".
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right

from fraudcli.features.spec import DAY, LONGEST_WINDOW, NEW_WINDOW
from fraudcli.features.store import first_row, time_features, travel

_WEEK = 7 * DAY
_SWAPPED = sys.byteorder != "little"  # (the script packs little-endian doubles)


def features_of(
    reply: list, t, amount, merchant, country, device, lat, lon, lateness: float
) -> list[float]:
    """The features from the script's reply (bytes), with `InMemoryStore`'s arithmetic
    (`user_row`, `merchant_features`) on the values, entries and counts it returns."""
    if reply[1]:
        user = _user(reply, t, amount, merchant, country, device, lat, lon, lateness)
    else:
        user = first_row(merchant, country, device)
    n1, n7, n30, f1, f7, f30 = reply[11:17]
    return [
        *time_features(t, amount),
        *user,
        float(n1),
        float(n7),
        float(n30),
        f1 / n1 if n1 else 0.0,
        f7 / n7 if n7 else 0.0,
        f30 / n30 if n30 else 0.0,
    ]


def _user(reply: list, t, amount, merchant, country, device, lat, lon, lateness) -> tuple:
    """`user_row` over the user's state and its entries (packed (ts, amount) doubles in time
    order): the same bisections."""
    entries = array("d", reply[10])
    if _SWAPPED:
        entries.byteswap()
    times, amounts = entries[0::2], entries[1::2]
    newest = None if reply[2] is None else float(reply[2])
    hi = bisect_right(times, t)  # (entries after t: a record behind the user's newest)
    lo = bisect_right(times, t - NEW_WINDOW, 0, hi)
    late = newest is not None and t < newest
    if late and t < newest - lateness:  # the horizon's floor
        lo = max(lo, bisect_right(times, newest - LONGEST_WINDOW - lateness, 0, hi))
    lo_7d = max(lo, bisect_right(times, t - _WEEK, 0, hi))
    lo_24h = bisect_right(times, t - DAY, lo_7d, hi)
    lo_1h = bisect_right(times, t - 3600.0, lo_24h, hi)
    s30, s7, s24 = sum(amounts[lo:hi]), sum(amounts[lo_7d:hi]), sum(amounts[lo_24h:hi])
    n1, n24, n7, n30 = hi - lo_1h, hi - lo_24h, hi - lo_7d, hi - lo
    mean30 = s30 / n30 if n30 else 0.0
    prev = None if reply[3] is None else float(reply[3])
    loc = None if reply[4] is None else (float(reply[4]), float(reply[5]), float(reply[6]))
    gap, distance, speed = travel(t, prev, loc, lat, lon)
    if late:  # new among the window's own entries after the floor
        low = t - NEW_WINDOW
        if t < newest - lateness:
            low = max(low, newest - LONGEST_WINDOW - lateness)
        novel = _novel_among(reply[17], low, t, merchant, country, device)
    else:  # new since t - 30 days, from the newest time each value was seen
        since = t - NEW_WINDOW
        novel = tuple(
            0.0 if value is None or (last is not None and float(last) > since) else 1.0
            for value, last in zip((merchant, country, device), reply[7:10], strict=True)
        )
    return (
        float(n1),
        float(n24),
        float(n7),
        float(n30),
        s24 / n24 if n24 else 0.0,
        s7 / n7 if n7 else 0.0,
        mean30,
        amount / mean30 if mean30 > 0.0 else 1.0,
        gap,
        distance,
        speed,
        *novel,
    )


def _novel_among(text: bytes, low: float, high: float, *values) -> tuple:
    """is_new_{merchant,country,device}_30d among the entries in (low, high] of `text` (the
    user's entries, "<seq>\x1f<amount>\x1f<ts>\x1f<merchant>\x1f<country>\x1f<device>\x1f"
    each, values encoded)."""
    parts = text.split(b"\x1f")
    known: tuple[set, set, set] = (set(), set(), set())
    for k in range(0, len(parts) - 1, 6):
        if low < float(parts[k + 2]) <= high:
            for seen, value in zip(known, parts[k + 3 : k + 6], strict=True):
                seen.add(value)
    return tuple(
        0.0 if value is None or encoded(value).encode("utf-8", "surrogatepass") in seen else 1.0
        for value, seen in zip(values, known, strict=True)
    )


def encoded(value: str | None) -> str:
    """A value as the script stores it: "" for none, else "=" and its text with "\\" as "\\\\"
    and the separator "\\x1f" as "\\u" (so a stored string splits at every "\\x1f")."""
    if value is None:
        return ""
    return "=" + value.replace("\\", "\\\\").replace("\x1f", "\\u")


def escaped(text: str) -> str:
    """An id as the script reads it: "\\" as "\\\\" and "\\x1f" as "\\u"."""
    if "\x1f" in text or "\\" in text:
        return text.replace("\\", "\\\\").replace("\x1f", "\\u")
    return text


def decoded(text: str) -> str | None:
    """The value `encoded` made `text` from."""
    if not text:
        return None
    if "\\" not in text:
        return text[1:]
    out, chars, i = [], text, 1
    while i < len(chars):
        c = chars[i]
        if c == "\\":
            i += 1
            c = "\x1f" if chars[i] == "u" else chars[i]
        out.append(c)
        i += 1
    return "".join(out)
