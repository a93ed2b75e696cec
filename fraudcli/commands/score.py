"""`fraud score`: every record through the pipeline, in order, one decision or one reject each.

With `--state PATH` the run continues from the state there (else from the bundle's, or an
empty one with `--fresh-state`) and writes it back, so that the state never remembers a
record whose decision was lost:
- `-o FILE`: the state is written beside PATH while the output is, and committed right after
  the output is renamed into place. A kill between the two renames leaves the new output with
  the old state: the same command again decides the same records the same way (nothing of
  that run is in the state), so its output and state come out as if it had run once.
- a stream (stdout, a pipe): a checkpoint every `--checkpoint-every` seconds and when the run
  stops (Ctrl-C, SIGTERM, the reader closing the output), each covering exactly the records
  whose decisions were written and flushed. A kill -9 loses what came after the last
  checkpoint from the state only: sent again, those records are decided again (at least once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path

from fraudcli.config.load import Config
from fraudcli.files import check_distinct, is_stream
from fraudcli.io.writers import open_writer
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.scoring.decided import decided
from fraudcli.scoring.interrupts import deliver, held_signals, region
from fraudcli.scoring.load import OpenBundle, open_bundle, open_challenger
from fraudcli.scoring.output import OUTPUT_KEYS, Scored, ScoredRecords
from fraudcli.state.keeper import END, PERIODIC, STOPPED, StateKeeper, StateOptions


def score_file(
    data: Path | None,
    output: Path | None,
    *,
    config: Config,
    model_dir: Path | None = None,
    rejects_path: Path | None = None,
    fresh_state: bool = False,
    state: StateOptions | None = None,
    with_features: bool = False,
    strict: bool = False,
    raw_csv: bool = False,
    shadow_dir: Path | None = None,
    on_batch: Callable[[int], None] | None = None,
    record_path: bool = False,
    on_warning: Callable[[str], None] | None = None,
) -> RunSummary:
    """Score `data` (JSONL on stdin when None) with the bundle and write decisions to `output`
    (JSONL on stdout when None), as `fraudcli.scoring.decided` decides them (`record_path`
    forces the record path, as a pipe takes it; a Redis state takes it too, in pipelined
    batches: `fraudcli.scoring.shared_items`).

    Everything is checked before anything is written; a file output appears whole when the run
    completes, or not at all (`fraudcli.files`). When the reader of the output goes away (a
    broken pipe), the run stops and the summary says how many rows were written. With
    `shadow_dir`, a challenger bundle is judged beside the model (`fraudcli.scoring.shadow`)."""
    state = state or StateOptions(fresh=fresh_state)
    state.check()
    check_distinct([data], [("-o", output), ("--rejects", rejects_path), ("--state", state.path)])
    keeper = None
    if state.path is not None:
        keeper = StateKeeper(state.path, "score", state.checkpoint_every)
    with keeper or nullcontext():
        opened = open_bundle(
            config, model_dir, fresh_state=state.fresh, state_path=state.path,
            redis=state.redis, overwrite_state=state.overwrite,
        )  # fmt: skip
        record_path = record_path or state.redis is not None  # a shared store: record by record
        shadow = None
        if shadow_dir is not None:  # (the column path's modules: only when asked for)
            from fraudcli.scoring.shadow import Shadow

            shadow = Shadow(open_challenger(config, shadow_dir), opened)
        streamed = keeper is not None and is_stream(output)
        opened.keep_states = streamed
        with held_signals() if streamed else nullcontext():
            options = dict(with_features=with_features, strict=strict, on_batch=on_batch,
                           record_path=record_path, on_warning=on_warning)  # fmt: skip
            run = (opened, keeper, streamed, shadow)
            return _run(data, output, run, rejects_path, raw_csv, options)


def _run(data, output, run, rejects_path, raw_csv, options) -> RunSummary:
    opened, keeper, streamed, shadow = run
    summary, staged, write = RunSummary(), None, None
    with RejectSink(rejects_path) as sink:
        batches = decided(data, opened, sink, summary, **options)
        writer = open_writer(output, raw_csv=raw_csv)
        checkpoints = _Checkpoints(keeper, opened) if streamed else None
        try:
            with writer, written_behind(writer) as write:
                for batch in batches:
                    if shadow is not None:
                        shadow.add(batch)
                    with region():  # a signal waits while the batch is handed over
                        write(batch)
                    if checkpoints is not None:
                        deliver()  # Ctrl-C held while the batch was decided: now
                        checkpoints.maybe(write)
                if keeper is not None:  # the state beside PATH, committed after the output
                    write.flush()
                    staged = keeper.stage(opened.snapshot(), opened.store_config, write.rows, END)
        except BaseException as exc:
            if staged is not None:
                staged.discard()
                staged = None
            if checkpoints is not None and write is not None:
                checkpoints.stopped(write, exc)
            if not isinstance(exc, BrokenPipeError):
                raise
            summary.closed_early(writer.rows_written, sink)
    if staged is not None:
        staged.commit()
    if shadow is not None:
        summary.shadow = shadow.comparison()
    return summary


class _Checkpoints:
    """A streamed run's checkpoints: each covers the last batch whose write completed."""

    def __init__(self, keeper: StateKeeper, opened: OpenBundle) -> None:
        self.keeper, self.opened = keeper, opened

    def maybe(self, write: _Behind) -> None:
        if self.keeper.due():
            write.flush()
            self._save(write, PERIODIC)

    def stopped(self, write: _Behind, exc: BaseException) -> None:
        """The run stops: keep what was written, where the state of it is known exactly.
        On the record path the store is the live one: exactly the written records' only when
        a signal stopped it where `deliver` or the reader raised it, after a complete write."""
        done = write.settle()
        if done is None:
            return
        on_record_path = self.opened.scorer is None
        if on_record_path and not (isinstance(exc, (KeyboardInterrupt, SystemExit)) and done):
            return
        self._save(write, STOPPED)

    def _save(self, write: _Behind, reason: str) -> None:
        if write.done is not None and write.done.state is not None:
            with region():  # a signal during the write of the state waits for its end
                tables = write.done.state()
                self.keeper.save(tables, self.opened.store_config, write.rows, reason)


class _Behind:
    """`write(batch)`: each batch written in a thread while the next one is decided; `done`
    is the last batch whose write completed, `rows` the rows written with it."""

    def __init__(self, writer, pool: ThreadPoolExecutor) -> None:
        self.writer, self.pool = writer, pool
        self.pending: Future | None = None
        self.pending_batch: Scored | ScoredRecords | None = None
        self.done: Scored | ScoredRecords | None = None
        self.rows = 0

    def __call__(self, batch: Scored | ScoredRecords) -> None:
        self.flush()
        self.pending_batch = batch
        self.pending = self.pool.submit(
            self.writer.write_arrow, batch.table, batch.rows, OUTPUT_KEYS
        )

    def flush(self) -> None:
        if self.pending is not None:
            self.pending.result()
            self._completed()

    def settle(self) -> Scored | ScoredRecords | None:
        """After a failure: wait for the write in flight; the last batch written whole."""
        if self.pending is not None:
            try:
                self.pending.result()
                self._completed()
            except BaseException:
                self.pending = None
        return self.done

    def _completed(self) -> None:
        batch = self.pending_batch
        self.rows += batch.table.num_rows if batch.table is not None else len(batch.rows)
        self.done, self.pending, self.pending_batch = batch, None, None


@contextmanager
def written_behind(writer) -> Iterator[_Behind]:
    """`write(batch)`: each batch written in a thread while the next one is decided."""
    with ThreadPoolExecutor(1, thread_name_prefix="write") as pool:
        write = _Behind(writer, pool)
        yield write
        write.flush()
