"""`fraud score`: every record through the pipeline, in order, one decision or one reject each."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fraudcli.config import Config
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io import Item, RejectSink, read_batches
from fraudcli.pipeline import Pipeline, accepted
from fraudcli.schema import Txn, format_timestamp
from fraudcli.writers import open_writer


@dataclass
class RunSummary:
    """What a run read, wrote and rejected: read == written + rejected, always."""

    read: int = 0
    written: int = 0
    rejected: int = 0
    decisions: Counter = field(default_factory=Counter)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {
            "read": self.read,
            "written": self.written,
            "rejected": self.rejected,
            "decisions": dict(self.decisions),
            "reject_reasons": self.reject_reasons,
            "seconds": round(self.seconds, 3),
        }


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


def tallied(
    batches: Iterable[list[Item]],
    rejects: RejectSink,
    summary: RunSummary,
    *,
    strict: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[list[Txn]]:
    """The valid transactions of each batch, counted into `summary` as they are consumed:
    read, written (= valid), rejected with reasons, and the time taken."""
    started = time.perf_counter()
    for n_read, txns in accepted(batches, rejects, strict):
        yield txns
        summary.read += n_read
        summary.written += len(txns)
        if on_batch is not None:
            on_batch(n_read)
    summary.rejected, summary.reject_reasons = rejects.count, dict(rejects.reasons)
    summary.seconds = time.perf_counter() - started


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
    """Score `data` (JSONL on stdin when None) with the bundle and write decisions to `output`."""
    from fraudcli.runtime import load_pipeline

    pipeline = load_pipeline(config, model_dir, fresh_state=fresh_state).pipeline
    writer, sink = open_writer(output), RejectSink(rejects_path)
    try:
        batches = read_batches(data, config.columns)
        return score_stream(
            batches,
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
