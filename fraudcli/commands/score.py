"""`fraud score`: every record through the pipeline, in order, one decision or one reject each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from fraudcli.config import Config
from fraudcli.io.writers import open_writer
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle
from fraudcli.scoring.output import OUTPUT_KEYS, Scored, ScoredRecords


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
    on_warning: Callable[[str], None] | None = None,
) -> RunSummary:
    """Score `data` (JSONL on stdin when None) with the bundle and write decisions to `output`
    (JSONL on stdout when None), as `fraudcli.scoring.decided` decides them."""
    opened = open_bundle(config, model_dir, fresh_state=fresh_state)
    summary, sink = RunSummary(), RejectSink(rejects_path)
    try:
        batches = decided(
            data, opened, sink, summary,
            with_features=with_features, strict=strict, on_batch=on_batch, on_warning=on_warning,
        )  # fmt: skip
        writer = open_writer(output)
        try:
            with written_behind(writer) as write:
                for batch in batches:
                    write(batch)
        finally:
            writer.close()
    finally:
        sink.close()
    return summary


@contextmanager
def written_behind(writer) -> Iterator[Callable[[Scored | ScoredRecords], None]]:
    """`write(batch)`: each batch written in a thread while the next one is decided."""
    with ThreadPoolExecutor(1, thread_name_prefix="write") as behind:
        pending = None

        def write(batch: Scored | ScoredRecords) -> None:
            nonlocal pending
            if pending is not None:
                pending.result()
            pending = behind.submit(writer.write_arrow, batch.table, batch.rows, OUTPUT_KEYS)

        yield write
        if pending is not None:
            pending.result()
