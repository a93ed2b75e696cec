"""The feature store in Redis: the embedded store's features, for any number of processes.

One server-side script per transaction (`redis_store.lua`, run by EVALSHA) checks the id for a
duplicate, looks the features up and updates the state, atomically: no other client runs in
between, so lookup-then-update never loses or doubles an update, and a transaction sent twice
is a duplicate the second time (the id registry's rule: `fraudcli.records.id_registry`, with N
and W kept in Redis). `observe_many` sends K transactions per round trip (a pipeline of scripts,
each still atomic, in order). Labels after the fact are one script each, with the rule of
`fraudcli.features.labels`.

Every window bound is computed here, with the embedded store's expressions, and sent as its
repr, so Redis compares the doubles `InMemoryStore` compares; counts, novelty, the previous
time and place, merchant counts and label corrections are therefore the embedded store's
exactly, and the features are computed from them below with its arithmetic. Window means are
sums of the window's amounts divided by its count, where the embedded store subtracts running
sums: equal to about 1e-15 relative, not to the bit.

    store = RedisStore(client, StoreConfig(), prefix="fraud:")
    rows = store.observe_many(txns)  # each txn's features, None for a duplicate
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from importlib import resources
from math import asin, cos, sin, sqrt
from typing import TYPE_CHECKING

from fraudcli.features.spec import DAY, LONGEST_WINDOW, MAX_GAP_HOURS, NEW_WINDOW
from fraudcli.features.store import (
    EARTH_KM,
    RADIANS_PER_DEGREE,
    StoreConfig,
    first_row,
    time_features,
)
from fraudcli.records.labels import Label
from fraudcli.records.schema import Txn

if TYPE_CHECKING:
    import pyarrow as pa

SCRIPT = resources.files("fraudcli.features").joinpath("redis_store.lua").read_text("utf-8")
BATCH = 256  # transactions per round trip in `observe_many`
_WEEK, _MONTH, _MINUTE_HOURS = 7 * DAY, 30 * DAY, 1.0 / 60.0
_OBSERVE, _RULES_ONLY, _LOOKUP, _UPDATE = "o", "r", "l", "u"


class RedisStore:
    """The `FeatureStore` interface over a redis-py `client` (made by
    `fraudcli.features.redis_url.connect`, which decodes replies). Keys under `prefix`; `ttl`:
    seconds of wall clock after which a key untouched goes (None: never); `where`: the address
    for error messages (never with its password)."""

    ids = None  # the id registry lives in Redis: nothing to find duplicates with beforehand

    def __init__(
        self,
        client,
        config: StoreConfig | None = None,
        *,
        prefix: str = "fraud:",
        ttl: float | None = None,
        where: object = "Redis",
        batch: int = BATCH,
    ) -> None:
        self.config = config or StoreConfig()
        self.client, self.prefix, self.ttl, self.where = client, prefix, ttl, where
        self.batch = batch
        self._sha: str | None = None
        c = self.config
        self._delay, self._lateness = c.label_delay, c.lateness
        self._user_horizon, self._merchant_horizon = c.user_horizon, c.merchant_horizon
        self._window = c.id_window
        self._ttl_ms = "0" if ttl is None else str(max(1, round(ttl * 1000)))
        self._constants = (repr(c.lateness), repr(c.label_delay), repr(LONGEST_WINDOW))
        self._constants += (repr(self._window), self._ttl_ms)
        self._tx, self._ids, self._meta = prefix + "tx", prefix + "ids", prefix + "meta"

    # --- the record path ------------------------------------------------------------------

    def observe(self, txn: Txn, lookup: bool = True) -> list[float] | None:
        """None for a duplicate; else the features of `txn` from the state before it (or []
        when not `lookup`), after which the state holds it: one script, atomic."""
        mode = _OBSERVE if lookup else _RULES_ONLY
        return self._one(mode, *_values(txn))

    def observe_values(
        self, transaction_id, user_id, t, amount, merchant_id, country, device_id, lat, lon, label
    ) -> list[float] | None:
        """`observe` of a record given as its values."""
        values = (transaction_id, user_id, t, amount, merchant_id, country, device_id, lat, lon)
        return self._one(_OBSERVE, *values, label)

    def observe_many(self, txns: Sequence[Txn], lookup: bool = True) -> list[list[float] | None]:
        """`observe` of each txn, in order, `batch` of them per round trip (each atomic)."""
        mode = _OBSERVE if lookup else _RULES_ONLY
        out: list[list[float] | None] = []
        for start in range(0, len(txns), self.batch):
            values = [_values(txn) for txn in txns[start : start + self.batch]]
            replies = self._run([self._call(mode, *v) for v in values])
            out += [self._answer(mode, v, reply) for v, reply in zip(values, replies, strict=True)]
        return out

    def lookup(self, txn: Txn) -> list[float]:
        """The features of `txn` from the state as it is (no duplicate check, no update)."""
        return self._one(_LOOKUP, *_values(txn))

    def update(self, txn: Txn) -> None:
        """Add `txn` to the state (not to the id registry: as `InMemoryStore.update`)."""
        self._one(_UPDATE, *_values(txn))

    def label(self, labels: Sequence[Label]) -> list[str]:
        """Each label's outcome (applied, changed, unchanged, unknown), one script each, in
        order, `batch` per round trip. A label without a label_time arrives at the state's
        newest event time when its script runs."""
        fixed = (repr(self._delay), repr(self._window), self.prefix, self._ttl_ms)
        fixed += (repr(self._merchant_horizon),)
        calls = []
        for label in labels:
            when = "" if label.label_time is None else repr(float(label.label_time))
            args = ("L", label.transaction_id, str(int(label.is_fraud)), when, *fixed)
            calls.append((2, self._tx, self._meta, *args))
        out: list[str] = []
        for start in range(0, len(calls), self.batch):
            out += self._run(calls[start : start + self.batch])
        return out

    # --- the state --------------------------------------------------------------------------

    @property
    def newest(self) -> float:
        """The newest event time the state holds (-inf when empty)."""
        value = self._guarded(lambda: self.client.hget(self._meta, "newest"))
        return -math.inf if value is None else float(value)

    def snapshot(self) -> dict[str, pa.Table]:
        """The state as the embedded store's snapshot tables (`fraudcli.features.snapshot`),
        read key by key (keys in sorted order, each key's entries in time order)."""
        from fraudcli.features.redis_tables import read_tables

        return self._guarded(lambda: read_tables(self.client, self.prefix, self.config))

    def push(self, tables: dict[str, pa.Table], progress: Callable[[int], None] | None = None):
        """Write a snapshot's tables into this (empty) state, pipelined; `progress(rows)`."""
        from fraudcli.features.redis_tables import write_tables

        self._guarded(lambda: write_tables(self.client, self.prefix, tables, progress))

    @classmethod
    def restore(
        cls, tables: dict[str, pa.Table], config: StoreConfig, *, client, **options
    ) -> RedisStore:
        """The store `tables` hold, written into the (empty) state under `options["prefix"]`
        (as `InMemoryStore.restore`; `fraud state push` also writes a manifest)."""
        store = cls(client, config, **options)
        store.push(tables)
        return store

    def is_empty(self) -> bool:
        return self._guarded(lambda: not self.client.exists(self._meta))

    def warm(self) -> None:
        """Load the script now rather than with the first record."""
        self._load()

    # --- inside ---------------------------------------------------------------------------

    def _one(self, mode, tid, user, t, amount, merchant, country, device, lat, lon, label):
        values = (tid, user, t, amount, merchant, country, device, lat, lon, label)
        (reply,) = self._run([self._call(mode, *values)])
        return self._answer(mode, values, reply)

    def _call(self, mode, tid, user, t, amount, merchant, country, device, lat, lon, label):
        """(numkeys, *KEYS, *ARGV) of the script for one record (see its header)."""
        p, end = self.prefix, t - self._delay
        em, ec, ed = encoded(merchant), encoded(country), encoded(device)
        m = merchant if merchant is not None else ""
        located = lat is not None
        return (
            8, f"{p}u:{user}", f"{p}uh:{user}", f"{p}m:{m}", f"{p}mf:{m}", f"{p}mc:{m}",
            self._tx, self._ids, self._meta,
            mode, tid, repr(t), f"{float(amount)!r}\x1f{t!r}\x1f{em}\x1f{ec}\x1f{ed}", em, ec, ed,
            "" if label is None else ("1" if label else "0"),
            repr(float(lat)) if located else "", repr(float(lon)) if located else "",
            repr(t - 3600.0), repr(t - DAY), repr(t - _WEEK), repr(t - NEW_WINDOW),
            repr(end), repr(end - DAY), repr(end - _WEEK), repr(end - _MONTH),
            repr(t - self._user_horizon), repr(t - self._merchant_horizon),
            repr(t - self._window), *self._constants,
        )  # fmt: skip

    def _answer(self, mode: str, values: tuple, reply: list) -> list[float] | None:
        if reply[0] == 1:
            return None
        if mode == _OBSERVE or mode == _LOOKUP:
            return features_of(reply, *values[2:9], self._lateness)
        return []

    def _run(self, calls: list[tuple]) -> list:
        """The script for each call, in order, in one round trip; scripts the server had lost
        (a restart, SCRIPT FLUSH) did not run: loaded again and run, still in order."""
        from redis.exceptions import NoScriptError, RedisError

        sha = self._sha or self._load()
        try:
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                pipe.execute_command("EVALSHA", sha, *call)
            replies = pipe.execute(raise_on_error=False)
            lost = next((i for i, r in enumerate(replies) if isinstance(r, NoScriptError)), None)
            if lost is not None:
                sha = self._load()
                pipe = self.client.pipeline(transaction=False)
                for call in calls[lost:]:
                    pipe.execute_command("EVALSHA", sha, *call)
                replies[lost:] = pipe.execute(raise_on_error=False)
        except RedisError as exc:
            raise self._failed(exc) from None
        for reply in replies:
            if isinstance(reply, Exception):
                raise self._failed(reply)
        return replies

    def _load(self) -> str:
        self._sha = self._guarded(lambda: self.client.script_load(SCRIPT))
        return self._sha

    def _guarded(self, call):
        from redis.exceptions import RedisError

        try:
            return call()
        except RedisError as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: BaseException):
        from fraudcli.errors import StateUnavailable
        from fraudcli.features.redis_url import RedisURL, unavailable

        if isinstance(self.where, RedisURL):
            return unavailable(self.where, exc)
        return StateUnavailable(f"the Redis state at {self.where} failed: {exc}")


def _values(txn: Txn) -> tuple:
    return (
        txn.transaction_id, txn.user_id, txn.ts, txn.amount, txn.merchant_id, txn.country,
        txn.device_id, txn.lat, txn.lon, txn.is_fraud,
    )  # fmt: skip


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
    gap = MAX_GAP_HOURS
    if reply[3] is not None:
        gap = (t - float(reply[3])) / 3600.0
        gap = 0.0 if 0.0 > gap else MAX_GAP_HOURS if MAX_GAP_HOURS < gap else gap
    distance = speed = 0.0
    if reply[4] is not None and lat is not None:
        loc = (float(reply[4]), float(reply[5]), float(reply[6]))
        p1, p2 = loc[0] * RADIANS_PER_DEGREE, lat * RADIANS_PER_DEGREE  # as `user_row`
        a = (
            sin((p2 - p1) / 2) ** 2
            + cos(p1) * cos(p2) * sin((lon - loc[1]) * RADIANS_PER_DEGREE / 2) ** 2
        )
        distance = 2.0 * EARTH_KM * asin(min(1.0, sqrt(a)))
        hours = abs(t - loc[2]) / 3600.0
        speed = distance / (_MINUTE_HOURS if _MINUTE_HOURS > hours else hours)
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
