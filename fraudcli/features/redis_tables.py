"""A Redis feature state as the snapshot tables of `fraudcli.features.snapshot`, and back.

`read_tables` reads every key under the prefix (SCAN, then pipelined reads) into the tables an
embedded store snapshots, holding what a lookup can still see: users and merchants in sorted
order, each key's entries within its horizon of its newest in time order (ties in input
order), the label changes of those, the id registry's live entries in acceptance order. Running sums
(`cum_amount`) are summed afresh from the amounts, which are the very floats written.
`write_tables` writes such tables into an empty state, pipelined (`fraud state push`): a state
pushed and read back gives the same tables, running sums and entries past their horizon
aside. The layout is the script's
(`redis_store.lua`).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Callable, Iterator
from itertools import groupby
from operator import itemgetter

import pyarrow as pa

from fraudcli.features.redis_features import decoded, encoded
from fraudcli.features.snapshot import LABEL_CHANGES_SCHEMA, stored_newest
from fraudcli.features.store import StoreConfig
from fraudcli.records.id_registry import TABLE_SCHEMA

READ_KEYS = 256  # keys read per round trip
WRITE_COMMANDS = 512  # commands written per round trip
MEMBERS = 512  # members per ZADD / fields per HSET
# after a merchant entry's tag, as the script writes it: its sets stay skiplists (redis_store.lua)
PAD = "." * 49
_SEP = "\x1f"


def read_tables(client, prefix: str, config: StoreConfig) -> dict[str, pa.Table]:
    """The state under `prefix` as snapshot tables (see the module docstring)."""
    meta = client.hmget(prefix + "meta", "ids_newest")
    ids_newest = -math.inf if meta[0] is None else float(meta[0])
    users = sorted(keys_under(client, prefix + "uh:"))
    merchants = sorted(keys_under(client, prefix + "m:"))
    entries, last = _users(client, prefix, users, config.user_horizon)
    merchant_entries, changes = _merchants(client, prefix, merchants, config.merchant_horizon)
    return {
        "user_entries": entries,
        "user_last": last,
        "merchant_entries": merchant_entries,
        "label_changes": changes,
        "transactions": _transactions(client, prefix, ids_newest - config.id_window),
    }


def keys_under(client, head: str) -> set[str]:
    """The rest of every key that starts with `head` (SCAN: the server is never blocked)."""
    pattern = "".join("\\" + c if c in "*?[]\\" else c for c in head) + "*"
    return {key[len(head) :] for key in client.scan_iter(match=pattern, count=1000)}


def _users(client, prefix: str, users: list[str], horizon: float) -> tuple[pa.Table, pa.Table]:
    cols: dict[str, list] = {k: [] for k in ("user_id", "ts", "amount", "merchant_id")}
    cols |= {"country": [], "device_id": [], "cum_amount": []}
    last: dict[str, list] = {k: [] for k in ("user_id", "prev_ts", "loc_lat", "loc_lon", "loc_ts")}
    for chunk, replies in _read(client, users, lambda pipe, user: _read_user(pipe, prefix, user)):
        for user, (text, state) in zip(chunk, replies, strict=True):
            parts = (text or "").split(_SEP)
            rows = [parts[k : k + 6] for k in range(0, len(parts) - 1, 6)]
            for row in rows:
                row[2] = float(row[2])
            rows.sort(key=itemgetter(2, 0))  # time order, ties in input order (seq)
            total, cutoff = 0.0, rows[-1][2] - horizon if rows else 0.0
            for _, amount, ts, merchant, country, device in rows:
                amount = float(amount)
                if ts <= cutoff:
                    continue  # past the horizon: no lookup sees it
                total += amount
                for name, value in zip(
                    ("user_id", "ts", "amount", "merchant_id", "country", "device_id"),
                    (user, ts, amount, decoded(merchant), decoded(country), decoded(device)),
                    strict=True,
                ):
                    cols[name].append(value)
                cols["cum_amount"].append(total)
            prev, lat, lon, lts = (None if v is None else float(v) for v in state)
            for name, value in zip(last, (user, prev, lat, lon, lts), strict=True):
                last[name].append(value)
    floats = {"ts", "amount", "cum_amount", "prev_ts", "loc_lat", "loc_lon", "loc_ts"}
    return _table(cols, floats), _table(last, floats)


def _read_user(pipe, prefix: str, user: str) -> None:
    pipe.get(prefix + "ut:" + user)
    pipe.hmget(prefix + "uh:" + user, "prev", "lat", "lon", "lts")


def _merchants(
    client, prefix: str, merchants: list[str], horizon: float
) -> tuple[pa.Table, pa.Table]:
    entries: dict[str, list] = {"merchant_id": [], "ts": [], "is_fraud": []}
    changes: list[tuple] = []
    for chunk, replies in _read(client, merchants, lambda p, m: _read_merchant(p, prefix, m)):
        for merchant, (members, frauds, changed) in zip(chunk, replies, strict=True):
            fraud, cutoff = set(frauds), members[-1][1] - horizon if members else math.inf
            for member, ts in members:
                if ts <= cutoff:
                    continue
                entries["merchant_id"].append(merchant)
                entries["ts"].append(ts)
                entries["is_fraud"].append(1 if member in fraud else 0)
            for member, arrival in changed:
                _, ts, change = member.split(_SEP)
                if float(ts) > cutoff:  # (changes expire with their entries)
                    changes.append((merchant, float(ts), arrival, int(change)))
    columns = list(zip(*changes, strict=True)) if changes else [[] for _ in LABEL_CHANGES_SCHEMA]
    return (
        pa.table(
            {
                "merchant_id": pa.array(entries["merchant_id"], pa.string()),
                "ts": pa.array(entries["ts"], pa.float64()),
                "is_fraud": pa.array(entries["is_fraud"], pa.int8()),
            }
        ),
        pa.table(
            [pa.array(c, f.type) for c, f in zip(columns, LABEL_CHANGES_SCHEMA, strict=True)],
            schema=LABEL_CHANGES_SCHEMA,
        ),
    )


def _read_merchant(pipe, prefix: str, merchant: str) -> None:
    pipe.zrange(prefix + "m:" + merchant, 0, -1, withscores=True)
    pipe.zrange(prefix + "mf:" + merchant, 0, -1)
    pipe.zrange(prefix + "mc:" + merchant, 0, -1, withscores=True)


def _transactions(client, prefix: str, dead_at: float) -> pa.Table:
    """The id registry's entries with ts > N - W, in acceptance order."""
    rows = []
    for tid, info in client.hscan_iter(prefix + "tx", count=1000):
        ts, seq, merchant, label, arrival = info.split(_SEP)
        if float(ts) > dead_at:
            rows.append((seq, tid, float(ts), decoded(merchant), label, arrival))
    rows.sort(key=itemgetter(0))
    return pa.table(
        [
            pa.array([r[1] for r in rows], pa.string()),
            pa.array([r[2] for r in rows], pa.float64()),
            pa.array([r[3] for r in rows], pa.string()),
            pa.array([int(r[4]) if r[4] else None for r in rows], pa.int8()),
            pa.array([float(r[5]) if r[5] else None for r in rows], pa.float64()),
        ],
        schema=TABLE_SCHEMA,
    )


def _read(client, keys: list[str], queue) -> Iterator[tuple[list[str], list]]:
    """(keys, their replies grouped per key) for `READ_KEYS` keys per round trip."""
    for start in range(0, len(keys), READ_KEYS):
        chunk = keys[start : start + READ_KEYS]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            queue(pipe, key)
        replies = pipe.execute()
        per = len(replies) // len(chunk)
        yield chunk, [replies[i : i + per] for i in range(0, len(replies), per)]


def _table(columns: dict[str, list], floats: set[str]) -> pa.Table:
    return pa.table(
        {k: pa.array(v, pa.float64() if k in floats else pa.string()) for k, v in columns.items()}
    )


# --- writing ------------------------------------------------------------------------------------


class _Writer:
    """Commands queued on a pipeline, sent `WRITE_COMMANDS` at a time; `progress(rows)` told
    of the rows each round trip wrote."""

    def __init__(self, client, progress: Callable[[int], None] | None) -> None:
        self.client, self.progress = client, progress
        self.pipe, self.commands, self.rows = client.pipeline(transaction=False), 0, 0

    def queue(self, command: str, *args, rows: int = 0) -> None:
        self.pipe.execute_command(command, *args)
        self.commands += 1
        self.rows += rows
        if self.commands >= WRITE_COMMANDS:
            self.flush()

    def flush(self) -> None:
        if self.commands:
            self.pipe.execute()
            self.pipe = self.client.pipeline(transaction=False)
        if self.progress is not None and self.rows:
            self.progress(self.rows)
        self.commands = self.rows = 0


def write_tables(
    client, prefix: str, tables: dict[str, pa.Table], progress: Callable[[int], None] | None
) -> None:
    """Write a snapshot's tables under `prefix` (an empty state), pipelined."""
    seq = [int(client.hget(prefix + "meta", "seq") or 0)]

    def tag() -> str:
        seq[0] += 1
        return f"{seq[0]:016x}"

    out = _Writer(client, progress)
    _write_users(out, prefix, tables, tag)
    _write_merchants(out, prefix, tables, tag)
    ids = tables.get("transactions")
    if ids is not None and ids.num_rows:
        data = ids.to_pydict()
        rows = zip(*(data[f.name] for f in TABLE_SCHEMA), strict=True)
        for chunk in _chunks(list(rows), MEMBERS):
            fields = []
            for tid, ts, merchant, label, arrival in chunk:
                arrival = "" if arrival is None else repr(float(arrival))
                label = "" if label is None else str(int(label))
                fields += [tid, _SEP.join((repr(ts), tag(), encoded(merchant), label, arrival))]
            out.queue("HSET", prefix + "tx", *fields, rows=len(chunk))
    newest = stored_newest(tables)
    meta = ["seq", seq[0]]
    changes = tables.get("label_changes")
    if changes is not None and changes.num_rows:
        meta += ["changes", "1"]
    if newest > -math.inf:
        meta += ["newest", repr(newest), "ids_newest", repr(newest)]
    out.queue("HSET", prefix + "meta", *meta)
    out.flush()


def _write_users(out: _Writer, prefix: str, tables: dict[str, pa.Table], tag) -> None:
    data = tables["user_entries"].to_pydict()
    names = ("user_id", "ts", "amount", "merchant_id", "country", "device_id")
    rows = zip(*(data[k] for k in names), strict=True)
    newest: dict[str, float] = {}
    for user, group in groupby(rows, key=itemgetter(0)):
        seen: dict[str, float] = {}  # the newest time each value was seen with
        entries = list(group)  # (in time order, ties in input order)
        packed = array("d", [x for entry in entries for x in (entry[1], float(entry[2]))])
        if sys.byteorder != "little":
            packed.byteswap()
        out.queue("SET", prefix + "ua:" + user, packed.tobytes())
        text = []
        for _, ts, amount, merchant, country, device in entries:
            values = (encoded(merchant), encoded(country), encoded(device))
            text.append(_SEP.join((tag(), repr(float(amount)), repr(ts), *values, "")))
            newest[user] = max(newest.get(user, ts), ts)
            for kind, value in zip("mcd", values, strict=True):
                if value and seen.get(kind + value, -math.inf) < ts:
                    seen[kind + value] = ts
        out.queue("SET", prefix + "ut:" + user, "".join(text), rows=len(entries))
        for fields in _chunks([x for kv in seen.items() for x in (kv[0], repr(kv[1]))], MEMBERS):
            out.queue("HSET", prefix + "uh:" + user, *fields)
    last = tables["user_last"].to_pydict()
    for user, prev, lat, lon, lts in zip(*last.values(), strict=True):
        fields = [] if prev is None else ["prev", repr(prev)]
        if user in newest:
            fields += ["newest", repr(newest.pop(user))]
        if lat is not None:
            fields += ["lat", repr(lat), "lon", repr(lon), "lts", repr(lts)]
        if fields:
            out.queue("HSET", prefix + "uh:" + user, *fields, rows=1)
    for user, ts in newest.items():  # users with entries and no user_last row
        out.queue("HSET", prefix + "uh:" + user, "newest", repr(ts))


def _write_merchants(out: _Writer, prefix: str, tables: dict[str, pa.Table], tag) -> None:
    data = tables["merchant_entries"].to_pydict()
    rows = zip(data["merchant_id"], data["ts"], data["is_fraud"], strict=True)
    for merchant, group in groupby(rows, key=itemgetter(0)):
        for chunk in _chunks(list(group), MEMBERS):
            pairs, frauds = [], []
            for _, ts, fraud in chunk:
                member = tag() + PAD
                pairs += [repr(ts), member]
                if fraud:
                    frauds += [repr(ts), member]
            out.queue("ZADD", prefix + "m:" + merchant, *pairs, rows=len(chunk))
            if frauds:
                out.queue("ZADD", prefix + "mf:" + merchant, *frauds)
    changes = tables.get("label_changes")
    if changes is None:
        return
    data = changes.to_pydict()
    rows = zip(data["merchant_id"], data["ts"], data["arrival"], data["change"], strict=True)
    for merchant, ts, arrival, change in rows:
        member = _SEP.join((tag(), repr(ts), str(int(change))))
        out.queue("ZADD", prefix + "mc:" + merchant, repr(arrival), member, rows=1)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
