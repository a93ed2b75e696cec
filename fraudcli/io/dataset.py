"""Parquet datasets: an input that is a directory or a glob of Parquet files rather than one file.

The input order of a dataset is its files in sorted path order, and the rows of each file in
file order; row numbers (in rejects) count on across the files, from 1. Every reader of
`fraud` and the Dask engine take this one order, so a run on a dataset is the run on the
concatenation of its files.

    >>> dataset_files("big/")               # doctest: +SKIP
    [PosixPath('big/part-0.parquet'), PosixPath('big/part-1.parquet')]
"""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path

from fraudcli.errors import InputError

PARQUET_SUFFIXES = (".parquet", ".pq")
_GLOB_CHARACTERS = frozenset("*?[")


def is_dataset(path: str | Path | None) -> bool:
    """True for a directory or a glob pattern (not stdin, not one file: a file whose name holds
    `[` or `*` is that file)."""
    if path is None or str(path) == "-":
        return False
    path = Path(path)
    return path.is_dir() or (bool(_GLOB_CHARACTERS & set(str(path))) and not path.exists())


def dataset_files(path: str | Path) -> list[Path]:
    """The Parquet files of a dataset in input order (sorted paths): every `*.parquet` / `*.pq`
    under a directory (sub-directories included, hidden and `_` files left out, as Arrow's
    dataset reader does), or the files a glob matches; `[path]` for one file."""
    if not is_dataset(path):
        return [Path(path)]
    if Path(path).is_dir():
        root = Path(path)
        found = [
            p
            for p in root.rglob("*")
            if p.suffix.lower() in PARQUET_SUFFIXES and p.is_file() and not _hidden(p, root)
        ]
    else:
        found = [Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file()]
    files = sorted(found, key=str)
    if not files:
        raise InputError(f"cannot read {path}: no Parquet files (*.parquet, *.pq) there")
    return files


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith((".", "_")) for part in path.relative_to(root).parts)


def dataset_sha256(files: list[Path]) -> str:
    """The SHA-256 of the files' bytes one after the other, in input order (for one file: its
    SHA-256)."""
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
