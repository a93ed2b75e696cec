"""The feature store in Redis: the embedded store's features, for any number of processes.

One server-side script (`redis_store.lua`, run by EVALSHA) checks each transaction's id for a
duplicate, looks its features up and updates the state, atomically: no other client runs in
between, so lookup-then-update never loses or doubles an update, and a transaction sent twice
is a duplicate the second time (the id registry's rule: `fraudcli.records.id_registry`, with N
and W kept in Redis). One call decides up to `PER_CALL` transactions in order, each as if
alone; `observe_many` sends `batch` of them per round trip; `Calls` keeps script calls in
flight on a connection of their own, so the server runs one while the caller judges the last.
Labels after the fact are one script call each, with the rule of `fraudcli.features.labels`.

Every window bound is the embedded store's expression on the same doubles (the script computes
t - d - 1 day from t as Python would: IEEE arithmetic is the same in Lua), so Redis compares
the doubles `InMemoryStore` compares; counts, novelty, the previous time and place, merchant
counts and label corrections are therefore the embedded store's exactly, and the features are
computed from them below with its arithmetic. Window means are sums of the window's amounts
divided by its count, where the embedded store subtracts running sums: equal to about 1e-15
relative, not to the bit.

    store = RedisStore(client, StoreConfig(), prefix="fraud:")
    rows = store.observe_many(txns)  # each txn's features, None for a duplicate
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from importlib import resources
from typing import TYPE_CHECKING

from fraudcli.features.redis_features import encoded, escaped, features_of
from fraudcli.features.spec import LONGEST_WINDOW, MERCHANT_WINDOWS
from fraudcli.features.store import StoreConfig
from fraudcli.records.labels import Label
from fraudcli.records.schema import Txn

if TYPE_CHECKING:
    import pyarrow as pa

SCRIPT = resources.files("fraudcli.features").joinpath("redis_store.lua").read_text("utf-8")
BATCH = 256  # transactions per round trip in `observe_many`
PER_CALL = 32  # transactions per script call: about 1 ms of the server's time at most
_OBSERVE, _RULES_ONLY, _LOOKUP, _UPDATE = "o", "r", "l", "u"
_DAY, _WEEK, _MONTH = MERCHANT_WINDOWS.values()  # the script's bounds are t - d - each


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
        self._settings = ("B", prefix, repr(c.lateness), repr(c.label_delay))
        self._settings += (repr(LONGEST_WINDOW), repr(self._window), repr(self._user_horizon))
        self._settings += (repr(self._merchant_horizon), self._ttl_ms)
        self._tx, self._ids, self._meta = prefix + "tx", prefix + "ids", prefix + "meta"

    # --- the record path ------------------------------------------------------------------

    def observe(self, txn: Txn, lookup: bool = True) -> list[float] | None:
        """None for a duplicate; else the features of `txn` from the state before it (or []
        when not `lookup`), after which the state holds it: atomic."""
        return self._one(_OBSERVE if lookup else _RULES_ONLY, _values(txn))

    def observe_values(
        self, transaction_id, user_id, t, amount, merchant_id, country, device_id, lat, lon, label
    ) -> list[float] | None:
        """`observe` of a record given as its values."""
        values = (transaction_id, user_id, t, amount, merchant_id, country, device_id, lat, lon)
        return self._one(_OBSERVE, (*values, label))

    def observe_many(
        self, txns: Sequence[Txn], lookup: bool | Sequence[bool] = True
    ) -> list[list[float] | None]:
        """`observe` of each txn, in order, `batch` of them per round trip (each atomic);
        `lookup` for all of them or one per txn (False: [] instead of features, as `observe`)."""
        looks = [lookup] * len(txns) if isinstance(lookup, bool) else list(lookup)
        modes, values = _modes(looks), [_values(txn) for txn in txns]
        out: list[list[float] | None] = []
        for start in range(0, len(txns), self.batch):
            part = slice(start, start + self.batch)
            out += self._observed(modes[part], values[part])
        return out

    def calls(self) -> Calls:
        """Script calls in flight on a connection of their own (`Calls`)."""
        return Calls(self)

    def lookup(self, txn: Txn) -> list[float]:
        """The features of `txn` from the state as it is (no duplicate check, no update)."""
        return self._one(_LOOKUP, _values(txn))

    def update(self, txn: Txn) -> None:
        """Add `txn` to the state (not to the id registry: as `InMemoryStore.update`)."""
        self._one(_UPDATE, _values(txn))

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

    def _one(self, mode: str, values: tuple) -> list[float] | None:
        """One record, one round trip, without a pipeline's own cost."""
        return self._observed([mode], [values])[0]

    def _observed(self, modes: list[str], values: list[tuple]) -> list[list[float] | None]:
        """The script's answer for each record, in one round trip: `PER_CALL` of them per
        script call, so that no call holds the server (and other clients) up for long."""
        calls = [
            self._call(modes[start : start + PER_CALL], values[start : start + PER_CALL])
            for start in range(0, len(modes), PER_CALL)
        ]
        replies = [reply for call in self._run(calls, raw=True) for reply in call]
        return list(map(self._answer, modes, values, replies))

    def _call(self, modes: list[str], values: list[tuple]) -> tuple:
        """One script call's arguments (after EVALSHA and its sha) for the records."""
        lines = [_line(m, v, self._delay) for m, v in zip(modes, values, strict=True)]
        return (0, *self._settings, *lines)

    def _answer(self, mode: str, values: tuple, reply: list) -> list[float] | None:
        if reply[0] == 1:
            return None
        if reply[0] == 2:  # (the script caught it: the other records went on)
            from redis.exceptions import ResponseError

            raise self._failed(ResponseError(reply[1].decode("utf-8", "replace")))
        if mode == _OBSERVE or mode == _LOOKUP:
            return features_of(reply, *values[2:9], self._lateness)
        return []

    def _run(self, calls: list[tuple], raw: bool = False) -> list:
        """The script for each call, in order, in one round trip (`raw`: replies as bytes);
        scripts the server had lost (a restart, SCRIPT FLUSH) did not run: loaded again and
        run, still in order."""
        from redis.client import NEVER_DECODE
        from redis.exceptions import NoScriptError, RedisError

        options = {NEVER_DECODE: True} if raw else {}
        sha = self._sha or self._load()
        try:
            pipe = self.client.pipeline(transaction=False)
            for call in calls:
                pipe.execute_command("EVALSHA", sha, *call, **options)
            replies = pipe.execute(raise_on_error=False)
            lost = next((i for i, r in enumerate(replies) if isinstance(r, NoScriptError)), None)
            if lost is not None:
                sha = self._load()
                pipe = self.client.pipeline(transaction=False)
                for call in calls[lost:]:
                    pipe.execute_command("EVALSHA", sha, *call, **options)
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


class Calls:
    """Script calls of `store` in flight on a connection of their own, answered in order:
    the server runs one while the caller judges the answers of the one before. Calls sent
    together are answered together (Redis writes its replies once it has run what it read),
    so a caller sends the next call when it has judged enough to keep Redis busy, not all
    at once. A failure (refused, reset, a reply later than the connection's time-out) is
    StateUnavailable, after which the calls in flight are forgotten (they may have run: their
    records sent again are duplicates); the next call makes a new connection."""

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.conn = None
        self.flight: deque[list] = deque()  # [modes, values, answers or None, sent at], in order
        self.timeout_ns = 0
        try:  # (in the [redis] extra: redis-py's own packing costs a few µs an argument)
            from hiredis import pack_command
        except ImportError:
            pack_command = None
        self._pack = pack_command

    def __len__(self) -> int:
        return len(self.flight)

    def send(self, txns: Sequence[Txn], lookups: Sequence[bool]) -> None:
        """One script call for `txns` (PER_CALL at most), sent now."""
        from redis.exceptions import RedisError

        store = self.store
        modes, values = _modes(lookups), [_values(txn) for txn in txns]
        sha = store._sha or store._load()
        try:
            if self.conn is None:  # (its own, kept: the pool checks a connection at each loan)
                self.conn = store.client.connection_pool.make_connection()
                timeout = self.conn.socket_timeout  # (None: no time-out)
                self.timeout_ns = int(timeout * 1e9) if timeout else 2**62
            command = ("EVALSHA", sha, *store._call(modes, values))
            packed = [self._pack(command)] if self._pack else self.conn.pack_command(*command)
            self.conn.send_packed_command(packed, check_health=False)
        except RedisError as exc:
            raise self._failed(exc) from None
        self.flight.append([modes, values, None, time.perf_counter_ns()])

    def ready(self, until_ns: int) -> bool:
        """Whether the oldest call's answer has come in, waiting until `until_ns`
        (perf_counter ns) at most; StateUnavailable once it is later than the time-out."""
        from redis.exceptions import RedisError, TimeoutError

        call = self.flight[0]
        if call[2] is not None:
            return True
        expires = call[3] + self.timeout_ns
        try:
            wait = min(until_ns, expires) - time.perf_counter_ns()
            if self.conn.can_read(timeout=max(wait, 0) / 1e9):
                return True
            if time.perf_counter_ns() >= expires:
                raise TimeoutError("Timeout reading from socket")
        except RedisError as exc:
            raise self._failed(exc) from None
        return False

    def receive(self) -> list[list[float] | None]:
        """The oldest call's answers (waiting for them, up to the time-out)."""
        from redis.exceptions import NoScriptError, RedisError

        try:
            if self.flight[0][2] is None:
                try:
                    self.flight[0][2] = self.conn.read_response(disable_decoding=True)
                except NoScriptError:  # (SCRIPT FLUSH): the calls in flight run again
                    self._again()
        except RedisError as exc:
            raise self._failed(exc) from None
        modes, values, replies, _ = self.flight.popleft()
        return list(map(self.store._answer, modes, values, replies))

    def drop(self) -> None:
        """Forget the calls in flight (their answers are never read) and the connection."""
        self.flight.clear()
        if self.conn is not None:
            self.conn.disconnect()
            self.conn = None

    def _again(self) -> None:
        """The server lost the script: every call in flight is read, and those it did not
        run are run again, in order, once it is loaded. (A later call that did run, because
        another client loaded the script in between, ran before them: the one case, rare,
        in which a user's updates can reach Redis out of input order.)"""
        from redis.exceptions import NoScriptError

        lost = [self.flight[0]]
        for call in list(self.flight)[1:]:
            try:
                call[2] = self.conn.read_response(disable_decoding=True)
            except NoScriptError:
                lost.append(call)
        sha = self.store._load()
        for call in lost:
            self.conn.send_command("EVALSHA", sha, *self.store._call(call[0], call[1]))
        for call in lost:
            call[2] = self.conn.read_response(disable_decoding=True)

    def _failed(self, exc: BaseException):
        self.drop()
        return self.store._failed(exc)


def _modes(lookups: Sequence[bool]) -> list[str]:
    """The script's mode of each record: a lookup and an update, or the update alone."""
    return [_OBSERVE if look else _RULES_ONLY for look in lookups]


def _line(mode: str, values: tuple, delay: float) -> str:
    """One record as the script reads it: its fields "\x1f"-separated (see its header)."""
    tid, user, t, amount, merchant, country, device, lat, lon, label = values
    located, end = lat is not None, t - delay
    return (
        f"{mode}\x1f{escaped(tid)}\x1f{t!r}\x1f{escaped(user)}\x1f{float(amount)!r}\x1f"
        f"{encoded(merchant)}\x1f{encoded(country)}\x1f{encoded(device)}\x1f"
        f"{'' if label is None else ('1' if label else '0')}\x1f"
        f"{repr(float(lat)) if located else ''}\x1f{repr(float(lon)) if located else ''}\x1f"
        f"{end!r}\x1f{end - _DAY!r}\x1f{end - _WEEK!r}\x1f{end - _MONTH!r}"
    )


def _values(txn: Txn) -> tuple:
    return (
        txn.transaction_id, txn.user_id, txn.ts, txn.amount, txn.merchant_id, txn.country,
        txn.device_id, txn.lat, txn.lon, txn.is_fraud,
    )  # fmt: skip
