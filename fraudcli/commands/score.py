"""`fraud score`: every record through the pipeline, in order, one decision or one reject each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from fraudcli.config.load import Config
from fraudcli.files import check_distinct
from fraudcli.io.writers import open_writer
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle, open_challenger
from fraudcli.scoring.output import OUTPUT_KEYS, Scored, ScoredRecords
from fraudcli.scoring.shadow import Shadow


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
    raw_csv: bool = False,
    shadow_dir: Path | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> RunSummary:
    """Score `data` (JSONL on stdin when None) with the bundle and write decisions to `output`
    (JSONL on stdout when None), as `fraudcli.scoring.decided` decides them.

    Everything is checked before anything is written; a file output appears whole when the run
    completes, or not at all (`fraudcli.files`). When the reader of the output goes away (a
    broken pipe), the run stops and the summary says how many rows were written."""
    check_distinct([data], [("-o", output), ("--rejects", rejects_path)])
    opened = open_bundle(config, model_dir, fresh_state=fresh_state)
    shadow = Shadow(open_challenger(config, shadow_dir), opened) if shadow_dir else None
    summary = RunSummary()
    with RejectSink(rejects_path) as sink:
        batches = decided(
            data, opened, sink, summary,
            with_features=with_features, strict=strict, on_batch=on_batch,
        )  # fmt: skip
        writer = open_writer(output, raw_csv=raw_csv)
        try:
            with writer, written_behind(writer) as write:
                for batch in batches:
                    if shadow is not None:
                        shadow.add(batch)
                    write(batch)
        except BrokenPipeError:
            summary.closed_early(writer.rows_written, sink)
    if shadow is not None:
        summary.shadow = shadow.comparison()
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
