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
from collections.abc import Callable, Sequence
from importlib import resources
from typing import TYPE_CHECKING

from fraudcli.features.redis_features import encoded, features_of
from fraudcli.features.spec import DAY, LONGEST_WINDOW, NEW_WINDOW
from fraudcli.features.store import StoreConfig
from fraudcli.records.labels import Label
from fraudcli.records.schema import Txn

if TYPE_CHECKING:
    import pyarrow as pa

SCRIPT = resources.files("fraudcli.features").joinpath("redis_store.lua").read_text("utf-8")
BATCH = 256  # transactions per round trip in `observe_many`
_WEEK, _MONTH = 7 * DAY, 30 * DAY
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

    def observe_many(
        self, txns: Sequence[Txn], lookup: bool | Sequence[bool] = True
    ) -> list[list[float] | None]:
        """`observe` of each txn, in order, `batch` of them per round trip (each atomic);
        `lookup` for all of them or one per txn (False: [] instead of features, as `observe`)."""
        looks = [lookup] * len(txns) if isinstance(lookup, bool) else list(lookup)
        modes = [_OBSERVE if look else _RULES_ONLY for look in looks]
        out: list[list[float] | None] = []
        for start in range(0, len(txns), self.batch):
            values = [_values(txn) for txn in txns[start : start + self.batch]]
            mode = modes[start : start + self.batch]
            replies = self._run([self._call(m, *v) for m, v in zip(mode, values, strict=True)])
            out += [
                self._answer(m, v, reply) for m, v, reply in zip(mode, values, replies, strict=True)
            ]
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
        """One record, one round trip, without a pipeline's own cost."""
        from redis.exceptions import NoScriptError, RedisError

        values = (tid, user, t, amount, merchant, country, device, lat, lon, label)
        call = self._call(mode, *values)
        try:
            try:
                reply = self.client.execute_command("EVALSHA", self._sha or self._load(), *call)
            except NoScriptError:  # the server lost its scripts: this one did not run
                reply = self.client.execute_command("EVALSHA", self._load(), *call)
        except RedisError as exc:
            raise self._failed(exc) from None
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
