"""`fraud score` on a file, a block of rows at a time: the vectorised twin of the record path.

Each block of valid records (as Arrow columns) goes through the same steps as one record in
`Pipeline.decide`, over whole columns: the features continue from the stored state
(`ColumnState.step`, proved equal to lookup-then-update), the model scores every row at once, and
rows that are not plainly ALLOW are decided one by one by `fraudcli.scoring.pipeline.judge`, the
very code the record path runs. "Plainly ALLOW" is decided conservatively: no block list or rule can
fire (`VectorFlags`, never False where a rule fires), the score is below the review threshold with a
margin, and rounding the score to 6 places is not a tie; everything else goes to `judge`. So the
output is the record path's output, row for row (`tests/scoring/test_blocks.py`).

When a block cannot continue the state exactly (out-of-order timestamps, say), the state becomes
a one-record store and that block and every later one go record by record through `Pipeline`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.decision.batch_judge import BatchJudge
from fraudcli.decision.engine import DecisionEngine
from fraudcli.features.continued import Chunk, ColumnState
from fraudcli.model.scorer import Scorer
from fraudcli.records.columns import ValidBlock
from fraudcli.records.duplicates import BlockDuplicates
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.rejects import Reject, RejectSink
from fraudcli.records.schema import RECORD_FIELDS, Txn
from fraudcli.scoring.output import (
    Scored,
    ScoredRecords,
    extras_rows,
    output_record,
    output_table,
    with_passthrough,
)
from fraudcli.scoring.pipeline import Pipeline, judge


@dataclass
class Ready:
    """A block's valid rows (duplicates dropped), coded for the state, then their features."""

    data: dict[str, pa.Array]
    extras: dict[int, dict]
    passthrough: dict[str, pa.Array]
    chunk: Chunk | None
    X: np.ndarray | None = None
    ids_version: tuple[int, float] | None = None  # the registry after this block
    state: Callable[[], dict[str, pa.Table]] | None = None  # the state after it, when kept


class ColumnScorer:
    """Decides blocks of valid records; `record_path` is set once it had to go record by
    record (then it is the way on). `ids`: the registry its duplicates are dropped by.
    With `keep_states`, each output block carries the state after it (`Scored.state`), for
    a checkpoint of exactly what was written while later blocks are being decided."""

    def __init__(
        self,
        state: ColumnState | None,
        scorer: Scorer,
        engine: DecisionEngine,
        features: bool,
        ids: IdRegistry | None = None,
    ) -> None:
        """`state` None: only `take` (without coding) and `finish`, for features found
        elsewhere (`fraudcli.scoring.piped`)."""
        self.state, self.scorer, self.engine = state, scorer, engine
        self.with_features = features
        self.batch = BatchJudge(scorer, engine)
        self.record_path: Pipeline | None = None
        if ids is None and state is not None:
            ids = IdRegistry(state.config.id_window)
        self.ids = ids
        self.keep_states = False

    def snapshot(self) -> dict[str, pa.Table]:
        """The state now (after every block prepared): the store's tables and the registry."""
        store = self.record_path.store if self.record_path else self.state
        return store.snapshot() | {"transactions": self.ids.table()}

    def _state_after(self, ids_version) -> Callable[[], dict[str, pa.Table]]:
        """The tables of the state as it is now, to be made later (the store moves on)."""
        if self.record_path is not None:
            tables = self.record_path.store.snapshot()
        else:
            frozen, tables = _frozen(self.state), None
        ids = self.ids

        def state() -> dict[str, pa.Table]:
            store = tables if tables is not None else frozen.snapshot()
            return store | {"transactions": ids.table(ids_version)}

        return state

    def decide(self, block: ValidBlock, keep: np.ndarray | None = None) -> Scored | ScoredRecords:
        return self.finish(self.prepare(self.take(block, keep)))

    def take(self, block: ValidBlock, keep: np.ndarray | None) -> Ready:
        """The rows to decide (`keep`, or all), their keys coded: touches the state's
        vocabularies only, so blocks are taken in order but ahead of `prepare`."""
        data = block.data if keep is None else {k: v.filter(keep) for k, v in block.data.items()}
        extras = block.extras if keep is None else _kept_extras(block.extras, keep)
        passthrough = block.passthrough
        if keep is not None:
            passthrough = {k: v.filter(keep) for k, v in passthrough.items()}
        chunk = None if self.state is None else self.state.chunk(data)  # (features elsewhere)
        return Ready(data, extras, passthrough, chunk)

    def prepare(self, ready: Ready) -> Ready | ScoredRecords:
        """The part of deciding that moves the state: the block's features (or, once on the
        record path, its whole output). Blocks must be prepared in order, one at a time."""
        ready.X = None if self.record_path else self.state.step(ready.chunk)
        if ready.X is None:
            done = self._record_by_record(ready.data, ready.extras, ready.passthrough)
            done.state = self._state_after(ready.ids_version) if self.keep_states else None
            return done
        if self.keep_states:
            ready.state = self._state_after(ready.ids_version)
        return ready

    def finish(self, ready: Ready | ScoredRecords) -> Scored | ScoredRecords:
        """The rest, which reads the state no more: judging and the output table."""
        if isinstance(ready, ScoredRecords):
            return ready
        data, extras, X = ready.data, ready.extras, ready.X
        judged = self.batch.decide(
            X,
            Fields(data),
            lambda rows: self._judge(X, data, rows),
            # rows with extras are written whole, from the record path's objects
            np.fromiter(extras, dtype=np.int64, count=len(extras)) if extras else None,
        )
        features = X if self.with_features else None
        table = output_table(data, judged, features)
        rows = extras_rows(table, extras)  # such a row lists every key of its own
        table = with_passthrough(table, ready.passthrough)
        return Scored(table, rows, X, judged.p, data, ready.state)

    def _judge(self, X: np.ndarray, data, rows: np.ndarray):
        take = pa.array(rows, pa.int64())
        fields = [python_values(data, name, take, len(rows)) for name in RECORD_FIELDS]
        for j, features in enumerate(X[rows].tolist()):
            yield judge(self.scorer, self.engine, features, [column[j] for column in fields])

    def _record_by_record(self, data, extras, passthrough) -> ScoredRecords:
        """The block through the record path: its output rows are dicts, written as they are
        (a pass-through value no Arrow column type holds, 2**70 say, stays what it was)."""
        if self.record_path is None:
            self.record_path = Pipeline(self.state.to_store(), self.scorer, self.engine)
        txns = txns_of(data, extras, passthrough)
        features, decisions, rows = [], [], []
        for txn in txns:
            values, decision = self.record_path.decide(txn)
            features.append(values)
            decisions.append(decision)
            rows.append(output_record(txn, decision, values if self.with_features else None))
        return ScoredRecords(txns, features, decisions, rows)


def _frozen(state: ColumnState) -> ColumnState:
    """A copy of `state` that later steps leave as it is: a step replaces its arrays but
    writes the per-user ones in place (vocabularies only grow, with codes it never meets)."""
    per_user = {name: getattr(state, name).copy() for name in _PER_USER}
    return dataclasses.replace(state, **per_user)


_PER_USER = ("prev_ts", "loc_lat", "loc_lon", "loc_ts")


class Fields:
    """A block's record fields as `VectorFlags` reads them (made on demand)."""

    def __init__(self, data: dict[str, pa.Array]) -> None:
        self.data = data

    def __call__(self, name: str) -> np.ndarray:
        array = self.data[name]
        if name in ("amount", "lat", "lon"):
            return pc.fill_null(array, np.nan).to_numpy(zero_copy_only=False)
        return np.asarray(array.to_pylist(), dtype=object)


def python_values(data: dict[str, pa.Array], name: str, take: pa.Array, n: int) -> list:
    array = data.get(name)
    return [None] * n if array is None else array.take(take).to_pylist()


def _kept_extras(extras: dict[int, dict], keep: np.ndarray) -> dict[int, dict]:
    new_index = np.cumsum(keep) - 1
    return {int(new_index[i]): e for i, e in extras.items() if keep[i]}


def txns_of(data: dict[str, pa.Array], extras: dict[int, dict], passthrough) -> list[Txn]:
    """The block's records as `Txn`s (for the record path): built positionally, a column at a
    time (a dict of keywords per record costs twice as much)."""
    n = len(data["ts"])

    def column(name: str) -> list:
        array = data.get(name)
        return [None] * n if array is None else array.to_pylist()

    names = ("transaction_id", "ts", "user_id", "amount", "merchant_id", "merchant_category",
             "country", "lat", "lon", "device_id", "channel", "is_fraud")  # Txn's order # fmt: skip
    carried = {name: array.to_pylist() for name, array in passthrough.items()}
    own = [extras.get(i) for i in range(n)] if extras else [None] * n
    if carried:
        keys, rows = list(carried), zip(*carried.values(), strict=True)
        pairs = zip(own, rows, strict=True)
        own = [dict(zip(keys, row, strict=True)) if e is None else e for e, row in pairs]
    return list(map(Txn, *(column(name) for name in names), own, column("ts_text")))


def scored_blocks(
    blocks: Iterable[ValidBlock],
    scorer: ColumnScorer,
    rejects: RejectSink,
    summary,
    *,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[Scored | ScoredRecords]:
    """Score each block, counting into `summary` (a `RunSummary`) as `tallied` does.

    Three blocks are in hand at once, each in its own thread: one has its duplicates dropped
    and its keys coded (`take`), the one before it gets its features (`prepare`, which moves the
    state) and the one before that is judged into its output table (`finish`). Hashing, sorting
    and the features' loops let go of the GIL, so on two cores the stages overlap."""
    import time

    started = time.perf_counter()
    dedupe = BlockDuplicates(scorer.ids)

    def taken(block: ValidBlock):
        keep, duplicates = dedupe.keep(block)
        ready = scorer.take(block, keep)
        if scorer.keep_states:
            ready.ids_version = scorer.ids.version()
        return block, duplicates, ready

    def prepared(taken):
        block, duplicates, ready = taken
        return block, duplicates, scorer.prepare(ready)

    with (
        ThreadPoolExecutor(1, thread_name_prefix="take") as first,
        ThreadPoolExecutor(1, thread_name_prefix="prepare") as second,
    ):
        steps = _one_ahead(map(prepared, _one_ahead(map(taken, blocks), first)), second)
        for block, duplicates, ready in steps:
            for reject in _in_line_order(block.rejects, duplicates):
                rejects.add(reject, strict)
            scored = scorer.finish(ready)
            yield scored
            _count(summary, block.n_read, scored)
            if on_batch is not None:
                on_batch(block.n_read)
    summary.rejected, summary.reject_reasons = rejects.count, dict(rejects.reasons)
    summary.seconds = time.perf_counter() - started


def _one_ahead(items: Iterator, pool: ThreadPoolExecutor) -> Iterator:
    """`items`, each next one made in `pool` while the caller works on the one before."""
    job = pool.submit(next, items, None)
    while (item := job.result()) is not None:
        job = pool.submit(next, items, None)
        yield item


def _count(summary, n_read: int, scored: Scored | ScoredRecords) -> None:
    summary.read += n_read
    table = scored.table
    if table is None:
        summary.written += len(scored.rows)
        summary.decisions.update(scored.decisions())
        return
    summary.written += table.num_rows
    if table.num_rows:
        for entry in pc.value_counts(table["decision"]).to_pylist():
            summary.decisions[entry["values"]] += entry["counts"]


def _in_line_order(first: list[Reject], second: list[Reject]) -> list[Reject]:
    return sorted([*first, *second], key=lambda r: r.line) if second else first
