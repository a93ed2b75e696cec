"""What a Dask run writes: a dataset directory of part files (`part-00000.parquet`, ... in input
order), written by the workers into a temporary directory beside it and renamed into place when
the run completes (`fraudcli.files.Staged`), and its rejects as a dataset of JSONL part files
(`{"line", "reason", "raw"}` a line, as `--rejects` on the embedded path), written here.

The directories must be where every worker can write them (one machine, or a shared file
system). An existing output directory is replaced only when it holds nothing but part files
and what fraud writes beside them: a directory of other files is refused before the run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from fraudcli.errors import StrictRejectError, UsageError
from fraudcli.files import Staged
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import Reject, RejectSink

_OURS = re.compile(r"^(part-\d{5}\.(parquet|jsonl)|_audit\.json)$")


def part_name(index: int, suffix: str) -> str:
    return f"part-{index:05d}.{suffix}"


def check_dataset_target(path: Path | None, option: str) -> None:
    """UsageError when `path` is a file, or a directory holding anything but our part files."""
    if path is None:
        raise UsageError(f"--engine dask writes a dataset directory: give {option} DIR")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path}: --engine dask writes a directory, and this is a file")
    if path.is_dir():
        others = [p.name for p in path.iterdir() if not _OURS.match(p.name)]
        if others:
            raise UsageError(
                f"{option} {path} holds other files ({', '.join(sorted(others)[:3])}): "
                "give a new or empty directory, or one fraud wrote"
            )


class DatasetOut:
    """The output dataset directory: `path` is where the workers write, until `commit`."""

    def __init__(self, final: Path) -> None:
        self._staged = Staged(final, directory=True)
        self.path = self._staged.path

    def commit(self) -> None:
        self._staged.commit()

    def discard(self) -> None:
        self._staged.discard()


class RejectParts:
    """Rejects of a run: counted (and redacted under --redact) as `RejectSink` does, and, with
    a directory, written as one JSONL part file per input partition that has any."""

    def __init__(self, directory: Path | None) -> None:
        self.counter = RejectSink(None)
        self._out = DatasetOut(directory) if directory is not None else None
        self.first: Reject | None = None

    def add(self, index: int, rejects: list[Reject]) -> None:
        if not rejects:
            return
        if self.first is None or rejects[0].line < self.first.line:
            self.first = rejects[0]
        for reject in rejects:
            self.counter.add(reject)
        if self._out is not None:
            with RejectSink(self._out.path / part_name(index, "jsonl")) as sink:
                for reject in rejects:
                    sink.add(reject)

    def count_into(self, summary: RunSummary) -> None:
        summary.rejected = self.counter.count
        summary.reject_reasons = dict(self.counter.reasons)

    def commit(self) -> None:
        if self._out is not None:
            self._out.commit()

    def close_stopped(self) -> None:
        """A run that stopped keeps the rejects that explain it (--strict), as `RejectSink`."""
        if self._out is not None:
            self._out.commit() if self.first is not None else self._out.discard()


def summarise(done: list, rejects: RejectParts, started: float, strict: bool) -> RunSummary:
    """`read = written + rejected` summed over the partitions (`PartDone`s); their rejects
    counted and written; StrictRejectError at the first reject in input order under --strict."""
    summary = RunSummary(read=sum(d.read for d in done), written=sum(d.written for d in done))
    for part in done:
        rejects.add(part.index, part.rejects)
        summary.decisions.update(part.decisions)
    rejects.count_into(summary)
    summary.seconds = time.perf_counter() - started
    if strict and rejects.first is not None:
        first = rejects.first
        raise StrictRejectError(f"line {first.line}: {first.reason} (--strict)")
    return summary
