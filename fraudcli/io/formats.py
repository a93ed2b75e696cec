"""Input and output formats: which one a path is, and whether it can be read."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from fraudcli.errors import InputError, UsageError


class Format(StrEnum):
    """A file format fraud reads and writes."""

    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


FORMATS = {".jsonl": Format.JSONL, ".ndjson": Format.JSONL, ".json": Format.JSONL}
FORMATS |= {".csv": Format.CSV, ".parquet": Format.PARQUET, ".pq": Format.PARQUET}


def detect_format(path: str | Path | None) -> Format:
    """The format of a path by its extension; None or '-' is JSONL on stdin/stdout."""
    if path is None or str(path) == "-":
        return Format.JSONL
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise UsageError(f"cannot tell the format of {path}: use one of {known}")
    return FORMATS[suffix]


def input_format(path: str | Path | None) -> Format:
    """`detect_format` of an input, where a dataset (a directory or a glob of Parquet files,
    `fraudcli.io.dataset`) is Parquet."""
    from fraudcli.io.dataset import is_dataset

    return Format.PARQUET if is_dataset(path) else detect_format(path)


def ensure_readable(path: str | Path) -> Path:
    """`path` as a Path, or InputError saying plainly why it cannot be read. A dataset (a
    directory or a glob) must hold at least one Parquet file."""
    from fraudcli.io.dataset import dataset_files, is_dataset

    if is_dataset(path):
        dataset_files(path)
        return Path(path)
    path = Path(path)
    if not path.exists():
        raise InputError(f"cannot read {path}: no such file")
    if not path.is_file():
        raise InputError(f"cannot read {path}: not a file")
    return path


def open_binary(path: str | Path) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller's with-block
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def count_rows(path: str | Path | None) -> int | None:
    """Records in a file, for progress bars: the Parquet footer, or the lines of a text file
    (about 0.1 s per 100 MB); None for stdin or what cannot be read."""
    if path is None or str(path) == "-":
        return None
    import pyarrow as pa  # here, not at the top: `fraud --help` needs no pyarrow

    from fraudcli.io.dataset import dataset_files

    try:
        if input_format(path) is Format.PARQUET:
            import pyarrow.parquet as pq  # (only here: it loads pyarrow.fs, 10 ms)

            return sum(pq.ParquetFile(p).metadata.num_rows for p in dataset_files(path))
        with open(path, "rb") as stream:
            lines = sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))
    except (OSError, pa.ArrowException, UsageError, InputError):
        return None
    return max(lines - 1, 0) if detect_format(path) is Format.CSV else lines
