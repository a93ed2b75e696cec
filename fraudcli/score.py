"""`fraud score`: every record through the pipeline, in order, one decision or one reject each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fraudcli.config import Config
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io.blocks import column_blocks
from fraudcli.io.read import read_batches
from fraudcli.io.writers import open_writer
from fraudcli.pipeline import Pipeline
from fraudcli.records.accounting import RunSummary, tallied
from fraudcli.records.rejects import Item, RejectSink
from fraudcli.records.schema import Txn, format_timestamp
from fraudcli.score_columns import ColumnScorer, Scored, scored_blocks


def score_stream(
    batches: Iterable[list[Item]],
    pipeline: Pipeline,
    write: Callable[[list[dict]], None],
    rejects: RejectSink,
    *,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> RunSummary:
    """Decide every record of `batches` and `write` the outputs batch by batch."""
    summary = RunSummary()
    decide = pipeline.decide
    for txns in tallied(batches, rejects, summary, strict=strict, on_batch=on_batch):
        out = []
        for txn in txns:
            features, decision = decide(txn)
            out.append(output_record(txn, decision, features if with_features else None))
            summary.decisions[decision.decision] += 1
        write(out)
    return summary


def output_record(txn: Txn, decision, features: list[float] | None) -> dict:
    """One decision as an output row: ids, time, amount, probability, decision, reasons."""
    probability = decision.fraud_probability
    row = {
        "transaction_id": txn.transaction_id,
        "user_id": txn.user_id,
        "timestamp": txn.ts_text or format_timestamp(txn.ts),
        "amount": txn.amount,
        "fraud_probability": None if probability is None else round(probability, 6),
        "decision": decision.decision,
        "reasons": list(decision.reasons),
    }
    if decision.degraded:
        row["degraded"] = True
    if features:
        row.update(zip(FEATURE_NAMES, features, strict=True))
    if txn.extras:
        for key, value in txn.extras.items():
            row.setdefault(key, value)
    return row


def score_file(
    data: Path | None,
    output: Path | None,
    *,
    config: Config,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    fresh_state: bool = False,
    with_features: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> RunSummary:
    """Score `data` (JSONL on stdin when None) with the bundle and write decisions to `output`.

    A JSONL, Parquet or CSV file (stdin redirected from a file included) goes through the column
    path (`fraudcli.score_columns`), a block of rows at a time; a pipe goes record by record,
    so each piped record is decided as soon as it arrives. Both give the same output."""
    from fraudcli.runtime import load_pipeline

    blocks = column_blocks(data, config.columns)
    writer, sink = open_writer(output), RejectSink(rejects_path)
    try:
        if blocks is not None:
            scorer = load_column_scorer(config, model_dir, fresh_state, with_features)
            summary = RunSummary()
            with ThreadPoolExecutor(1, thread_name_prefix="write") as behind:
                written = None  # the previous block, written while this one is scored
                for scored in scored_blocks(
                    read_ahead(blocks), scorer, sink, summary, strict=strict, on_batch=on_batch
                ):
                    if written is not None:
                        written.result()
                    written = behind.submit(writer.write_arrow, scored.table, scored.rows)
                if written is not None:
                    written.result()
            return summary
        pipeline = load_pipeline(config, model_dir, fresh_state=fresh_state).pipeline
        return score_stream(
            read_batches(data, config.columns),
            pipeline,
            writer.write,
            sink,
            with_features=with_features,
            strict=strict,
            on_batch=on_batch,
        )
    finally:
        writer.close()
        sink.close()


# stored state, and blocks of 1M rows sort out of cache)


def read_ahead(blocks: Iterator) -> Iterator:
    """`blocks`, each read (and parsed) in a thread while the one before is scored: Arrow's
    reading and NumPy's kernels let go of the GIL, so the two overlap on two cores."""
    with ThreadPoolExecutor(1, thread_name_prefix="read") as ahead:
        job = ahead.submit(next, blocks, None)
        while (block := job.result()) is not None:
            job = ahead.submit(next, blocks, None)
            yield block


def scored_file(
    data: Path | None,
    config: Config,
    bundle,
    sink: RejectSink,
    summary: RunSummary,
    *,
    fresh_state: bool = False,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[Scored] | None:
    """The blocks of `data` decided on the column path, continuing from `bundle`'s state and
    counted into `summary`; None when `data` is for the record path (a pipe)."""
    blocks = column_blocks(data, config.columns)
    if blocks is None:
        return None
    scorer = column_scorer(bundle, config, fresh_state, features=False)
    blocks = read_ahead(blocks)
    return scored_blocks(blocks, scorer, sink, summary, strict=strict, on_batch=on_batch)


def load_column_scorer(config: Config, model_dir, fresh_state: bool, features: bool):
    """The bundle's model, thresholds and state, set up for the column path."""
    from fraudcli.bundle import DEFAULT_MODEL_DIR, load_bundle

    return column_scorer(load_bundle(model_dir or DEFAULT_MODEL_DIR), config, fresh_state, features)


def column_scorer(bundle, config: Config, fresh_state: bool, features: bool) -> ColumnScorer:
    """A loaded bundle's model, thresholds and state, set up for the column path."""
    from fraudcli.features.continued import ColumnState
    from fraudcli.features.store import StoreConfig
    from fraudcli.model.logreg import LinearScorer
    from fraudcli.runtime import build_engine

    store_config = StoreConfig(**bundle.store)
    state = (
        ColumnState(store_config)
        if fresh_state
        else ColumnState.from_snapshot(bundle.state, store_config)
    )
    engine = build_engine(config, bundle.thresholds)
    return ColumnScorer(state, LinearScorer.from_dict(bundle.model), engine, features)
