"""The features of a transaction from the Redis store's reply (`redis_store.lua`), with the
embedded store's arithmetic: `user_row`'s bisections, windows, gap, travel and novelty over the
user's state and its 30 days of entries, `merchant_features`' rates over the counts the script
made. And how the script stores a value (`encoded`): "" for none, else "=" and its text with
"\\" as "\\\\" and the separator "\\x1f" as "\\u".
"""

from __future__ import annotations

from bisect import bisect_right

from fraudcli.features.spec import DAY, LONGEST_WINDOW, NEW_WINDOW
from fraudcli.features.store import first_row, time_features, travel

_WEEK = 7 * DAY


def features_of(
    reply: list, t, amount, merchant, country, device, lat, lon, lateness: float
) -> list[float]:
    """The features from the script's reply, with `InMemoryStore`'s arithmetic (`user_row`,
    `merchant_features`) on the values, entries and counts it returns."""
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
    """`user_row` over the user's state and its entries in (t - 30 days, t], oldest first
    (members "<seq>\x1f<amount>\x1f<ts>\x1f<merchant>\x1f<country>\x1f<device>"): the same
    bisections, over the window's times."""
    newest, parts, times = reply[2], (), ()
    if reply[10]:  # one split of them all: a split and two floats per entry cost twice that
        parts = "\x1f".join(reply[10]).split("\x1f")
        times = list(map(float, parts[2::6]))
    n30 = len(times)
    lo = 0
    if newest is not None:
        newest = float(newest)
        if n30 and t < newest - lateness:  # late: the horizon's floor
            lo = bisect_right(times, newest - LONGEST_WINDOW - lateness)
    lo_7d = max(lo, bisect_right(times, t - _WEEK))
    lo_24h = bisect_right(times, t - DAY, lo_7d)
    lo_1h = bisect_right(times, t - 3600.0, lo_24h)
    amounts = list(map(float, parts[1::6]))
    s30, s7, s24 = sum(amounts[lo:]), sum(amounts[lo_7d:]), sum(amounts[lo_24h:])
    n1, n24, n7, n30 = n30 - lo_1h, n30 - lo_24h, n30 - lo_7d, n30 - lo
    mean30 = s30 / n30 if n30 else 0.0
    prev = None if reply[3] is None else float(reply[3])
    loc = None if reply[4] is None else (float(reply[4]), float(reply[5]), float(reply[6]))
    gap, distance, speed = travel(t, prev, loc, lat, lon)
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
        *_novel(reply, t, newest, [parts[k::6][lo:] for k in (3, 4, 5)], merchant, country, device),
    )


def _novel(reply: list, t, newest, seen: list[list[str]], *values) -> tuple:
    """is_new_{merchant,country,device}_30d: in order (no entry after t), from the newest time
    each value was seen; else among the window's own entries (`seen`, encoded)."""
    if newest is None or t >= newest:
        since = t - NEW_WINDOW
        return tuple(
            0.0 if value is None or (last is not None and float(last) > since) else 1.0
            for value, last in zip(values, reply[7:10], strict=True)
        )
    return tuple(
        0.0 if value is None or encoded(value) in known else 1.0
        for value, known in zip(values, seen, strict=True)
    )


def encoded(value: str | None) -> str:
    """A value as the script stores it: "" for none, else "=" and its text with "\\" as "\\\\"
    and the separator "\\x1f" as "\\u" (so a stored string splits at every "\\x1f")."""
    if value is None:
        return ""
    return "=" + value.replace("\\", "\\\\").replace("\x1f", "\\u")


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
