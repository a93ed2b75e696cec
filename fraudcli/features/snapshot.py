"""Feature-store state as Arrow tables (for model bundles and state directories) and back.
No pickle.

    user_entries      user_id, ts, amount, merchant_id, country, device_id, and cum_amount (the
                      running sum through the entry, as the one-record store keeps it, so a
                      restored store adds up to the very same floats)
    user_last         user_id, prev_ts (previous in input order), loc_lat/lon/ts (previous
                      located)
    merchant_entries  merchant_id, ts, is_fraud (the label as it is now)
    label_changes     merchant_id, ts, arrival, change: labels that arrived after ts + d
                      (`fraudcli.features.labels`), change = new - old
    transactions      the id registry (`fraudcli.records.id_registry`), when the store has one

Entries are grouped by key, in time order within a key. A table missing from older snapshots
(label_changes, transactions, cum_amount) restores as empty.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

import numpy as np
import pyarrow as pa

from fraudcli.features.state import MerchantState, UserState, prefix_sums
from fraudcli.records.arrow_numpy import arrow_array, arrow_list, numbers
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.kernels import kernel

SNAPSHOT_VERSION = 1
LABEL_CHANGES_SCHEMA = pa.schema(
    [
        ("merchant_id", pa.string()),
        ("ts", pa.float64()),
        ("arrival", pa.float64()),
        ("change", pa.int8()),
    ]
)


def snapshot_tables(store) -> dict[str, pa.Table]:
    """The store's tables (see the module docstring)."""
    tables = {
        "user_entries": _user_entries(store.users),
        "user_last": _user_last(store.users),
        "merchant_entries": _merchant_entries(store.merchants),
        "label_changes": _label_changes(store.merchants),
    }
    if store.ids is not None:
        tables["transactions"] = store.ids.table()
    return tables


def _user_entries(users: dict[str, UserState]) -> pa.Table:
    cols: dict[str, list] = {k: [] for k in ("user_id", "ts", "amount", "merchant_id")}
    cols |= {"country": [], "device_id": [], "cum_amount": []}
    for user_id, state in users.items():
        n = len(state.ts)
        cols["user_id"] += [user_id] * n
        cols["ts"] += state.ts
        cols["amount"] += [b - a for a, b in zip(state.cum, state.cum[1:], strict=False)]
        cols["merchant_id"] += state.merchant
        cols["country"] += state.country
        cols["device_id"] += state.device
        cols["cum_amount"] += state.cum[1:]
    types = {"ts": pa.float64(), "amount": pa.float64(), "cum_amount": pa.float64()}
    return pa.table({k: arrow_list(v, types.get(k, pa.string())) for k, v in cols.items()})


def _label_changes(merchants: dict[str, MerchantState]) -> pa.Table:
    return _changes_table(
        (merchant_id, *change)
        for merchant_id, state in merchants.items()
        for change in state.changes or ()
    )


def _changes_table(rows) -> pa.Table:
    """(merchant_id, ts, arrival, change) rows as a table."""
    rows = list(rows)
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in LABEL_CHANGES_SCHEMA]
    return pa.table(
        [arrow_list(list(c), f.type) for c, f in zip(columns, LABEL_CHANGES_SCHEMA, strict=True)],
        schema=LABEL_CHANGES_SCHEMA,
    )


def _user_last(users: dict[str, UserState]) -> pa.Table:
    return _last_table(
        (uid, s.prev_ts, *(s.loc if s.loc else (None, None, None))) for uid, s in users.items()
    )


def _last_table(rows) -> pa.Table:
    """(user_id, prev_ts, loc_lat, loc_lon, loc_ts) rows as a table."""
    rows = list(rows)
    names = ["user_id", "prev_ts", "loc_lat", "loc_lon", "loc_ts"]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    types = [pa.string()] + [pa.float64()] * 4
    return pa.table(
        [arrow_list(list(c), t) for c, t in zip(columns, types, strict=True)], names=names
    )


def _merchant_entries(merchants: dict[str, MerchantState]) -> pa.Table:
    ids, ts, labels = [], [], []
    for merchant_id, state in merchants.items():
        ids += [merchant_id] * len(state.ts)
        ts += state.ts
        labels += [b - a for a, b in zip(state.cum_fraud, state.cum_fraud[1:], strict=False)]
    return pa.table(
        {
            "merchant_id": arrow_list(ids, pa.string()),
            "ts": arrow_list(ts, pa.float64()),
            "is_fraud": arrow_list(labels, pa.int8()),
        }
    )


def snapshot_end(tables: dict[str, pa.Table]) -> float:
    """The newest timestamp of a snapshot's entries and previous txns (-inf when empty)."""
    newest = -np.inf  # (not to_numpy: Arrow's conversion loads pandas, which a start need not)
    for table, name in (("user_entries", "ts"), ("merchant_entries", "ts")):
        value = kernel("max", tables[table][name]).as_py()  # a snapshot holds no null nor NaN
        newest = newest if value is None else max(newest, float(value))
    value = kernel("max", tables["user_last"]["prev_ts"]).as_py()
    return newest if value is None else max(newest, float(value))


def restore_store(store, tables: dict[str, pa.Table]):
    """Fill an empty store from `snapshot_tables` output (entries are already sorted per key)."""
    entries = tables["user_entries"]
    sums = entries["cum_amount"].to_pylist() if "cum_amount" in entries.column_names else None
    entries = entries.to_pydict()
    rows = zip(*(entries[k] for k in ("user_id", "ts", "amount", "merchant_id")), strict=True)
    extra = zip(entries["country"], entries["device_id"], strict=True)
    start = 0
    for user_id, group in groupby(
        ((*r, *e) for r, e in zip(rows, extra, strict=True)), key=itemgetter(0)
    ):
        state = store.users.setdefault(user_id, UserState())
        group = list(group)
        state.ts = [g[1] for g in group]
        if sums is None:
            state.cum = prefix_sums([g[2] for g in group], 0.0)
        else:  # the very floats the store held
            state.cum = [0.0, *sums[start : start + len(group)]]
        start += len(group)
        state.merchant = [g[3] for g in group]
        state.country = [g[4] for g in group]
        state.device = [g[5] for g in group]
        state.last_seen = tuple(_newest(values, state.ts) for values in group_values(state))
        store.newest = max(store.newest, state.ts[-1])
    last = tables["user_last"].to_pydict()
    for uid, prev, lat, lon, lts in zip(*last.values(), strict=True):
        state = store.users.setdefault(uid, UserState())
        state.prev_ts = prev
        state.loc = (lat, lon, lts) if lat is not None else None
    merchants = tables["merchant_entries"].to_pydict()
    rows = zip(merchants["merchant_id"], merchants["ts"], merchants["is_fraud"], strict=True)
    for merchant_id, group in groupby(rows, key=itemgetter(0)):
        state = store.merchants.setdefault(merchant_id, MerchantState())
        group = list(group)
        state.ts = [g[1] for g in group]
        state.cum_fraud = prefix_sums([g[2] for g in group], 0)
    _restore_changes(store.merchants, tables.get("label_changes"))
    if store.ids is not None:
        window = store.config.id_window
        store.ids = IdRegistry.from_table(tables.get("transactions"), window, store.newest)
    return store


def _restore_changes(merchants: dict, table: pa.Table | None, into_lists: bool = False) -> None:
    """Each label change onto its merchant's state (or, `into_lists`, into a list per merchant
    id for `StoredState` to attach when the merchant is read)."""
    if table is None:
        return
    data = table.to_pydict()
    rows = zip(data["merchant_id"], data["ts"], data["arrival"], data["change"], strict=True)
    for merchant_id, ts, arrival, change in rows:
        if into_lists:
            merchants.setdefault(merchant_id, []).append((ts, arrival, change))
            continue
        state = merchants.get(merchant_id)
        if state is None:
            continue  # its entries expired: so did the change
        if state.changes is None:
            state.changes = []
        state.changes.append((ts, arrival, change))
        state.last_arrival = max(state.last_arrival, arrival)


class StoredState:
    """A snapshot's tables, each key's state read from them when first asked for: the state
    `restore_store` builds for that key, without building the others. At first only the keys
    are read, to find each one's rows (a snapshot holds a key's entries together). The first
    `SLICED_READS` keys of a table are read by slicing it (no cost for the keys never met);
    after that the whole table is turned into Python lists once, which a long stream, meeting
    most keys, pays far less for than a slice each (150 µs a key here)."""

    SLICED_READS = 64

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        self.entries, self.merchant_entries = tables["user_entries"], tables["merchant_entries"]
        self._reads = {"user": 0, "merchant": 0}
        self._lists: dict[str, dict[str, list]] = {}
        self.user_rows = _row_spans(self.entries["user_id"])
        self.merchant_rows = _row_spans(self.merchant_entries["merchant_id"])
        self.sums = "cum_amount" in self.entries.column_names  # (older snapshots lack it)
        self.changes: dict[str, list] = {}
        _restore_changes(self.changes, tables.get("label_changes"), into_lists=True)
        last = tables["user_last"].to_pydict()
        values = zip(last["prev_ts"], last["loc_lat"], last["loc_lon"], last["loc_ts"], strict=True)
        self.last = dict(zip(last["user_id"], values, strict=True))
        # the order `restore_store` puts the keys in: by their entries, then the others
        self.user_order = [*self.user_rows, *(u for u in self.last if u not in self.user_rows)]
        self.merchant_order = list(self.merchant_rows)

    def user(self, user_id: str, into: dict[str, UserState]) -> UserState | None:
        """`user_id`'s state, now also in `into` (None if the snapshot has none)."""
        span, last = self.user_rows.pop(user_id, None), self.last.pop(user_id, None)
        if span is None and last is None:
            return None
        state = into[user_id] = UserState()
        if span is not None:
            rows = self._rows("user", self.entries, span)
            state.ts = rows["ts"]
            if not self.sums:
                state.cum = prefix_sums(rows["amount"], 0.0)
            else:  # the very floats the store held
                state.cum = [0.0, *rows["cum_amount"]]
            state.merchant, state.country = rows["merchant_id"], rows["country"]
            state.device = rows["device_id"]
            state.last_seen = tuple(_newest(values, state.ts) for values in group_values(state))
        if last is not None:
            prev, lat, lon, lts = last
            state.prev_ts = prev
            state.loc = (lat, lon, lts) if lat is not None else None
        return state

    def merchant(self, merchant_id: str, into: dict[str, MerchantState]) -> MerchantState | None:
        """`merchant_id`'s state, now also in `into` (None if the snapshot has none)."""
        span = self.merchant_rows.pop(merchant_id, None)
        if span is None:
            return None
        rows = self._rows("merchant", self.merchant_entries, span)
        state = into[merchant_id] = MerchantState()
        state.ts = rows["ts"]
        state.cum_fraud = prefix_sums(rows["is_fraud"], 0)
        changes = self.changes.pop(merchant_id, None)
        if changes:
            state.changes = changes
            state.last_arrival = max(arrival for _, arrival, _ in changes)
        return state

    def _rows(self, kind: str, table: pa.Table, span: tuple[int, int]) -> dict[str, list]:
        """The columns of rows [span) of `table`, as lists."""
        lists = self._lists.get(kind)
        if lists is None:
            self._reads[kind] += 1
            if self._reads[kind] <= self.SLICED_READS:
                return table.slice(span[0], span[1] - span[0]).to_pydict()
            lists = self._lists[kind] = table.to_pydict()
        return {name: values[span[0] : span[1]] for name, values in lists.items()}

    def unread(self) -> dict[str, pa.Table]:
        """The rows of the keys not read yet, as tables (for `column_tables`); a label change
        whose merchant has no entries left is dropped, as `restore_store` drops it."""
        merchants = self.merchant_rows
        return {
            "user_entries": _spans_taken(
                self.entries.select(_USER_COLUMNS), self.user_rows.values()
            ),
            "user_last": _last_table((user_id, *values) for user_id, values in self.last.items()),
            "merchant_entries": _spans_taken(
                self.merchant_entries.select(["merchant_id", "ts", "is_fraud"]), merchants.values()
            ),
            "label_changes": _changes_table(
                (merchant_id, *change)
                for merchant_id, listed in self.changes.items()
                if merchant_id in merchants
                for change in listed
            ),
        }

    def tables_with(self, users: dict, merchants: dict) -> dict[str, pa.Table]:
        """The tables `snapshot_tables` gives of a store holding `users` and `merchants` (the
        keys read, as they are now, and the keys new since) and this snapshot's keys not read:
        the same rows in the same order (`everything`'s), those of the keys not read taken
        from the stored tables as they are, no Python object per entry (a one-record run
        with `--state` writes its state back in milliseconds, not a second). A
        snapshot without `cum_amount` (the column path's, older ones) gets them as the store
        makes them (`_summed`)."""
        entries = self.entries if self.sums else _summed(self.entries, self.user_rows.values())
        users_order = _order(self.user_order, users)
        merchants_order = _order(self.merchant_order, merchants)
        read_users = {k: users[k] for k in users_order if k in users}
        read_merchants = {k: merchants[k] for k in merchants_order if k in merchants}
        last = []
        for key in users_order:
            state = read_users.get(key)
            if state is not None:
                last.append((key, state.prev_ts, *(state.loc or (None, None, None))))
            else:
                prev, lat, lon, lts = self.last.get(key) or (None, None, None, None)
                last.append((key, prev, *((lat, lon, lts) if lat is not None else (None,) * 3)))
        changes = (
            (key, *change)
            for key in merchants_order
            for change in (
                (read_merchants[key].changes or ())
                if key in read_merchants
                else self.changes.get(key, ())
            )
        )
        return {
            "user_entries": _merged_rows(
                entries, self.user_rows, _user_entries(read_users), read_users, users_order
            ),
            "user_last": _last_table(last),
            "merchant_entries": _merged_rows(
                self.merchant_entries,
                self.merchant_rows,
                _merchant_entries(read_merchants),
                read_merchants,
                merchants_order,
            ),
            "label_changes": _changes_table(changes),
        }

    def everything(self, users: dict, merchants: dict) -> tuple[dict, dict]:
        """Every key's state, in the order a store restored at once and then updated would
        hold them: the snapshot's keys in `restore_store`'s order (read now if not yet), then
        the keys `users` and `merchants` got since, in theirs."""

        def ordered(order: list[str], known: dict, read) -> dict:
            every = {key: known[key] if key in known else read(key, known) for key in order}
            return every | {key: state for key, state in known.items() if key not in every}

        return ordered(self.user_order, users, self.user), ordered(
            self.merchant_order, merchants, self.merchant
        )


def _order(stored: list[str], known: dict) -> list[str]:
    """`everything`'s order of the keys: the snapshot's, then those new since."""
    seen = set(stored)
    return [*stored, *(key for key in known if key not in seen)]


def _merged_rows(stored: pa.Table, spans: dict, read: pa.Table, states: dict, order: list):
    """Each key's rows in `order`: those of a key in `states` (read: its rows lie in `read`,
    keys in this order) from `read`, the others' from their span of `stored`."""
    pieces: list[list[int]] = []  # [start, end) in the rows of `stored` then `read`
    at = stored.num_rows
    for key in order:
        state = states.get(key)
        if state is not None:
            piece = [at, at + len(state.ts)]
            at = piece[1]
        else:
            span = spans.get(key)
            if span is None:
                continue
            piece = list(span)
        if pieces and pieces[-1][1] == piece[0]:
            pieces[-1][1] = piece[1]
        elif piece[0] < piece[1]:
            pieces.append(piece)
    if pieces == [[0, stored.num_rows]]:
        return stored
    read = read.select(stored.column_names)
    if not read.schema.equals(stored.schema):  # (a cast loads pyarrow.compute: only if needed)
        read = read.cast(stored.schema)
    both = pa.concat_tables([stored, read])
    if not pieces:
        return both.slice(0, 0)
    rows = np.concatenate([np.arange(start, end, dtype=np.int64) for start, end in pieces])
    return kernel("take", both, arrow_array(rows))  # (Table.take loads pyarrow.compute)


def _summed(entries: pa.Table, spans) -> pa.Table:
    """User entries without `cum_amount` as a store restored from them gives them back: the
    rows of each key in `spans` with their running sum added one amount at a time from 0.0,
    as `prefix_sums` adds them (the very same floats), and each amount the difference of two
    sums. The keys' k-th rows are added together, the longest keys first."""
    spans = np.array(list(spans), dtype=np.int64).reshape(-1, 2)
    lengths = spans[:, 1] - spans[:, 0]
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = spans[order, 0], lengths[order]
    amount = numbers(entries["amount"])
    sums, amounts = np.zeros(len(amount)), np.zeros(len(amount))
    running = np.zeros(len(starts))
    going = np.searchsorted(-lengths, -np.arange(lengths.max() if len(lengths) else 0), "left")
    for step, k in enumerate(going.tolist()):  # the k keys longer than `step` rows
        rows = starts[:k] + step
        total = running[:k] + amount[rows]
        amounts[rows] = total - running[:k]
        sums[rows] = running[:k] = total
    return entries.set_column(
        entries.column_names.index("amount"), "amount", arrow_array(amounts)
    ).append_column("cum_amount", arrow_array(sums))


def _row_spans(keys: pa.ChunkedArray) -> dict:
    """Each key's rows [first, past its last), in order of first appearance, for a column that
    holds each key's rows together: found over the dictionary-coded column, so that only one
    Python string per key is made."""
    spans: dict = {}
    at = 0
    for chunk in keys.chunks:
        if not len(chunk):
            continue
        coded = chunk if pa.types.is_dictionary(chunk.type) else kernel("dictionary_encode", chunk)
        indices, width = coded.indices, coded.indices.type.bit_width // 8  # (signed integers)
        codes = np.frombuffer(
            indices.buffers()[1], f"<i{width}", len(indices), indices.offset * width
        ).astype(np.int64)  # (not Arrow's cast: it loads pyarrow.compute)
        starts = np.flatnonzero(np.diff(codes, prepend=-1) != 0)
        ends = np.append(starts[1:], len(codes))
        words = coded.dictionary.to_pylist()
        for code, start, end in zip(
            codes[starts].tolist(), starts.tolist(), ends.tolist(), strict=True
        ):
            key = words[code]
            first = spans[key][0] if key in spans and spans[key][1] == at + start else at + start
            spans[key] = (first, at + end)
        at += len(codes)
    return spans


def stored_newest(tables: dict[str, pa.Table]) -> float:
    """The newest timestamp of a snapshot's user entries (-inf when none): the `newest` that
    `restore_store` gives a store."""
    value = kernel("max", tables["user_entries"]["ts"]).as_py()
    return -np.inf if value is None else float(value)


def group_values(state: UserState) -> tuple[list, list, list]:
    return state.merchant, state.country, state.device


def _newest(values: list, ts: list[float]) -> dict:
    newest: dict = {}
    for value, t in zip(values, ts, strict=True):
        if value is not None:
            newest[value] = t  # entries are sorted by time: the last one wins
    return newest


# --- the tables the column path starts from (`ColumnState.from_snapshot`), made fast ---------

_USER_COLUMNS = ("user_id", "ts", "amount", "merchant_id", "country", "device_id")


def column_tables(users: dict, merchants: dict, stored: StoredState | None) -> dict[str, pa.Table]:
    """The feature tables of a store whose keys in `users` and `merchants` are read and the
    rest still in `stored`: the keys read are written as `snapshot_tables` writes them, the
    others taken from the stored tables as they are (no Python object per entry). Each key's
    rows stay together and in time order, as `ColumnState.from_snapshot` needs; the order of
    the keys is not `snapshot_tables`' (no id registry: the caller keeps its own)."""
    tables = {
        "user_entries": _user_entries(users).select(_USER_COLUMNS),
        "user_last": _user_last(users),
        "merchant_entries": _merchant_entries(merchants),
        "label_changes": _label_changes(merchants),
    }
    if stored is None:
        return tables
    unread = stored.unread()
    return {
        name: pa.concat_tables([unread[name].cast(table.schema), table])
        for name, table in tables.items()
    }


def _spans_taken(table: pa.Table, spans) -> pa.Table:
    """The rows of `table` in `spans` ([first, past last) pairs), in that order."""
    spans = list(spans)
    if sum(end - start for start, end in spans) == table.num_rows:
        return table  # (spans cover every row, each key's rows once)
    if not spans:
        return table.slice(0, 0)
    rows = np.concatenate([np.arange(start, end, dtype=np.int64) for start, end in spans])
    return kernel("take", table, arrow_array(rows))
