"""`fraud score` on a file, a block of rows at a time: the vectorised twin of `score_stream`.

Each block of valid records (as Arrow columns) goes through the same steps as one record in
`Pipeline.decide`, over whole columns: the features continue from the stored state
(`ColumnState.step`, proved equal to lookup-then-update), the model scores every row at once,
and rows that are not plainly ALLOW are decided one by one by `pipeline.judge`, the very code
the record path runs. "Plainly ALLOW" is decided conservatively: no block list or rule can fire
(`VectorFlags`, never False where a rule fires), the score is below the review threshold with a
margin, and rounding the score to 6 places is not a tie; everything else goes to `judge`. So the
output is the record path's output, row for row (`tests/test_score_columns.py`).

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

from fraudcli.batch_judge import BatchJudge, Judged
from fraudcli.blocks import ValidBlock
from fraudcli.columnar import format_timestamps
from fraudcli.decision.engine import DECISIONS, DecisionEngine
from fraudcli.errors import StrictRejectError
from fraudcli.features.continued import Chunk, ColumnState
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.model.scorer import Scorer
from fraudcli.pipeline import RECORD_FIELDS, Pipeline, judge
from fraudcli.rejects import Reject, RejectSink
from fraudcli.schema import Txn
from fraudcli.seen_ids import Dedupe


@dataclass
class Scored:
    """One block's output: the table (record path's keys and order) and, for rows whose
    output has keys of their own (per-record extras), the full output row as a dict. Beside
    them what drift-report profiles: the rows' features `X`, scores `p` (not rounded) and input
    columns `data`."""

    table: pa.Table
    rows: dict[int, dict]
    X: np.ndarray
    p: np.ndarray
    data: dict[str, pa.Array]


@dataclass
class Ready:
    """A block's valid rows (duplicates dropped), coded for the state, then their features."""

    data: dict[str, pa.Array]
    extras: dict[int, dict]
    passthrough: dict[str, pa.Array]
    chunk: Chunk
    X: np.ndarray | None = None


class ColumnScorer:
    """Decides blocks of valid records; `record_path` is set once it had to go record by
    record (then `decide_records` is the way on)."""

    def __init__(
        self, state: ColumnState, scorer: Scorer, engine: DecisionEngine, features: bool
    ) -> None:
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
        return Ready(data, extras, passthrough, self.state.chunk(data))

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
        table = _output_table(data, judged, features)
        rows = _extras_rows(table, extras)  # such a row lists every key of its own
        return Scored(_with_passthrough(table, ready.passthrough), rows, X, judged.p, data)

    def _judge(self, X: np.ndarray, data, rows: np.ndarray):
        take = pa.array(rows, pa.int64())
        fields = [_python(data, name, take, len(rows)) for name in RECORD_FIELDS]
        for j, features in enumerate(X[rows].tolist()):
            yield judge(self.scorer, self.engine, features, [column[j] for column in fields])

    def _record_by_record(self, data, extras, passthrough) -> Scored:
        if self.record_path is None:
            self.record_path = Pipeline(self.state.to_store(), self.scorer, self.engine)
        from fraudcli.score import output_record

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


def _output_table(data, judged: Judged, X: np.ndarray | None) -> pa.Table:
    n, reasons = len(judged.p), judged.reasons
    stamps = data["ts_text"]
    if stamps.null_count:
        stamps = pc.coalesce(stamps, format_timestamps(data["ts"].to_numpy()))
    lengths = np.zeros(n + 1, dtype=np.int32)
    flat: list[str] = []
    for i, why in sorted(reasons.items()):
        lengths[i + 1] = len(why)
        flat.extend(why)
    offsets = pa.array(np.cumsum(lengths, dtype=np.int32))
    columns = {
        "transaction_id": data["transaction_id"],
        "user_id": data["user_id"],
        "timestamp": stamps,
        "amount": data["amount"],
        "fraud_probability": pa.array(judged.rounded(), pa.float64()),
        "decision": pc.take(pa.array(DECISIONS), pa.array(judged.severity)),
        "reasons": pa.ListArray.from_arrays(offsets, pa.array(flat, pa.string())),
    }
    if X is not None:
        columns |= {name: pa.array(X[:, j]) for j, name in enumerate(FEATURE_NAMES)}
    return pa.table(columns)


def _with_passthrough(table: pa.Table, passthrough: dict[str, pa.Array]) -> pa.Table:
    """Input columns outside the schema, after ours (an input column named like one of ours
    is left out, as `output_record` keeps its own value)."""
    for name, array in passthrough.items():
        if name not in table.column_names:
            table = table.append_column(name, array)
    return table


def _extras_rows(table: pa.Table, extras: dict[int, dict]) -> dict[int, dict]:
    """The whole output row of each record with extras, keys as `output_record` orders them."""
    if not extras:
        return {}
    rows = table.take(pa.array(list(extras), pa.int64())).to_pylist()
    for row, fields in zip(rows, extras.values(), strict=True):
        for key, value in fields.items():
            row.setdefault(key, value)
    return dict(zip(extras, rows, strict=True))


def _kept_extras(extras: dict[int, dict], keep: np.ndarray) -> dict[int, dict]:
    new_index = np.cumsum(keep) - 1
    return {int(new_index[i]): e for i, e in extras.items() if keep[i]}


def txns_of(data: dict[str, pa.Array], extras: dict[int, dict], passthrough) -> list[Txn]:
    """The block's records as `Txn`s (for the record path)."""
    n = len(data["ts"])
    every = pa.array(np.arange(n), pa.int64())
    values = {name: _python(data, name, every, n) for name in (*RECORD_FIELDS, "is_fraud")}
    ts, stamps = data["ts"].to_pylist(), data["ts_text"].to_pylist()
    carried = {name: array.to_pylist() for name, array in passthrough.items()}
    txns = []
    for i in range(n):
        extra = extras.get(i)
        if carried and extra is None:
            extra = {name: column[i] for name, column in carried.items()}
        txns.append(
            Txn(
                values["transaction_id"][i],
                ts[i],
                values["user_id"][i],
                values["amount"][i],
                values["merchant_id"][i],
                values["merchant_category"][i],
                values["country"][i],
                values["lat"][i],
                values["lon"][i],
                values["device_id"][i],
                values["channel"][i],
                values["is_fraud"][i],
                extra,
                stamps[i],
            )
        )
    return txns


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
    dedupe = Dedupe()

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
