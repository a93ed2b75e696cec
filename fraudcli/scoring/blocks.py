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

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.decision.batch_judge import BatchJudge
from fraudcli.decision.engine import DecisionEngine
from fraudcli.errors import StrictRejectError
from fraudcli.features.continued import Chunk, ColumnState
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.model.logreg import LinearScorer
from fraudcli.records.columns import ValidBlock
from fraudcli.records.duplicates import BlockDuplicates
from fraudcli.records.rejects import Reject, RejectSink
from fraudcli.records.schema import RECORD_FIELDS, Txn
from fraudcli.scoring.output import Scored, extras_rows, output_table, with_passthrough
from fraudcli.scoring.pipeline import Pipeline, judge


@dataclass
class Ready:
    """A block's valid rows (duplicates dropped), coded for the state, then their features."""

    data: dict[str, pa.Array]
    extras: dict[int, dict]
    passthrough: dict[str, pa.Array]
    chunk: Chunk | None
    X: np.ndarray | None = None


class ColumnScorer:
    """Decides blocks of valid records; `record_path` is set once it had to go record by
    record (then `decide_records` is the way on)."""

    def __init__(
        self,
        state: ColumnState | None,
        scorer: LinearScorer,
        engine: DecisionEngine,
        features: bool,
    ) -> None:
        """`state` None: only `take` (without coding) and `finish`, for features found
        elsewhere (`fraudcli.scoring.piped`)."""
        self.state, self.scorer, self.engine = state, scorer, engine
        self.with_features = features
        self.batch = BatchJudge(scorer, engine)
        self.record_path: Pipeline | None = None

    def decide(self, block: ValidBlock, keep: np.ndarray | None = None) -> Scored:
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

    def prepare(self, ready: Ready) -> Ready | Scored:
        """The part of deciding that moves the state: the block's features (or, once on the
        record path, its whole output). Blocks must be prepared in order, one at a time."""
        ready.X = None if self.record_path else self.state.step(ready.chunk)
        if ready.X is None:
            return self._record_by_record(ready.data, ready.extras, ready.passthrough)
        return ready

    def finish(self, ready: Ready | Scored) -> Scored:
        """The rest, which reads the state no more: judging and the output table."""
        if isinstance(ready, Scored):
            return ready
        data, extras, X = ready.data, ready.extras, ready.X
        judged = self.batch.decide(
            X,
            _Fields(data),
            lambda rows: self._judge(X, data, rows),
            # rows with extras are written whole, from the record path's objects
            np.fromiter(extras, dtype=np.int64, count=len(extras)) if extras else None,
        )
        features = X if self.with_features else None
        table = output_table(data, judged, features)
        rows = extras_rows(table, extras)  # such a row lists every key of its own
        return Scored(with_passthrough(table, ready.passthrough), rows, X, judged.p, data)

    def _judge(self, X: np.ndarray, data, rows: np.ndarray):
        take = pa.array(rows, pa.int64())
        fields = [_python(data, name, take, len(rows)) for name in RECORD_FIELDS]
        for j, features in enumerate(X[rows].tolist()):
            yield judge(self.scorer, self.engine, features, [column[j] for column in fields])

    def _record_by_record(self, data, extras, passthrough) -> Scored:
        if self.record_path is None:
            self.record_path = Pipeline(self.state.to_store(), self.scorer, self.engine)
        from fraudcli.scoring.output import output_record

        txns = txns_of(data, extras, passthrough)
        rows, X, p = [], np.empty((len(txns), len(FEATURE_NAMES))), np.empty(len(txns))
        for i, txn in enumerate(txns):
            features, decision = self.record_path.decide(txn)
            rows.append(output_record(txn, decision, features if self.with_features else None))
            X[i], p[i] = features, decision.fraud_probability
        table = pa.Table.from_pylist(rows) if rows else pa.table({})
        return Scored(table, dict(enumerate(rows)), X, p, data)


class _Fields:
    """A block's record fields as `VectorFlags` reads them (made on demand)."""

    def __init__(self, data: dict[str, pa.Array]) -> None:
        self.data = data

    def __call__(self, name: str) -> np.ndarray:
        array = self.data[name]
        if name in ("amount", "lat", "lon"):
            return pc.fill_null(array, np.nan).to_numpy(zero_copy_only=False)
        return np.asarray(array.to_pylist(), dtype=object)


def _python(data: dict[str, pa.Array], name: str, take: pa.Array, n: int) -> list:
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
) -> Iterator[Scored]:
    """Score each block, counting into `summary` (a `RunSummary`) as `tallied` does.

    Three blocks are in hand at once, each in its own thread: one has its duplicates dropped
    and its keys coded (`take`), the one before it gets its features (`prepare`, which moves the
    state) and the one before that is judged into its output table (`finish`). Hashing, sorting
    and the features' loops let go of the GIL, so on two cores the stages overlap."""
    import time

    started = time.perf_counter()
    dedupe = BlockDuplicates()

    def taken(block: ValidBlock):
        keep, duplicates = dedupe.keep(block)
        return block, duplicates, scorer.take(block, keep)

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
                rejects.add(reject)
                if strict:
                    raise StrictRejectError(f"line {reject.line}: {reject.reason} (--strict)")
            scored = scorer.finish(ready)
            yield scored
            _count(summary, block.n_read, scored.table)
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


def _count(summary, n_read: int, table: pa.Table) -> None:
    summary.read += n_read
    summary.written += table.num_rows
    if table.num_rows:
        for entry in pc.value_counts(table["decision"]).to_pylist():
            summary.decisions[entry["values"]] += entry["counts"]


def _in_line_order(first: list[Reject], second: list[Reject]) -> list[Reject]:
    return sorted([*first, *second], key=lambda r: r.line) if second else first
