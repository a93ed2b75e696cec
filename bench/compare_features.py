"""Two feature tables, row for row: a Parquet file or dataset directory against another
(`fraud features` embedded against `--engine dask`), streamed in blocks so neither has to fit.

    python -m bench.compare_features feats.parquet feats_dask/

The rows must be the same in number and order, with equal ids, users, timestamps and labels;
each feature equal to 1e-9 (|a - b| <= 1e-9 + 1e-9 |b|, as the engine's tests hold them).
Prints the rows compared, the largest absolute and relative differences and the column where
each is; exit 1 when they differ beyond that.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

BLOCK = 1 << 18
EXACT = ("transaction_id", "user_id", "timestamp", "is_fraud")
TOLERANCE = 1e-9


def files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_")))
    return [path]


def blocks(path: Path, size: int = BLOCK) -> Iterator[pa.Table]:
    """The table at `path` in blocks of exactly `size` rows (the last one shorter)."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for file in files(path):
        for batch in pq.ParquetFile(file).iter_batches(size):
            pending.append(batch)
            held += batch.num_rows
            while held >= size:
                table = pa.Table.from_batches(pending).combine_chunks()
                yield table.slice(0, size)
                rest = table.slice(size)
                pending, held = rest.to_batches(), rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


@dataclass
class Compared:
    rows: int = 0
    abs_diff: tuple[float, str] = (0.0, "")
    rel_diff: tuple[float, str] = (0.0, "")
    problems: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.problems


def compare(left: Path, right: Path) -> Compared:
    out = Compared()
    ours, theirs = blocks(left), blocks(right)
    for a in ours:
        b = next(theirs, None)
        if b is None or b.num_rows != a.num_rows:
            out.problems.append(f"{right} ends before {left} (after {out.rows:,} rows)")
            return out
        _block(a, b, out)
        out.rows += a.num_rows
        if len(out.problems) > 10:
            return out
    if next(theirs, None) is not None:
        out.problems.append(f"{right} has rows after the {out.rows:,} of {left}")
    return out


def _block(a: pa.Table, b: pa.Table, out: Compared) -> None:
    if a.column_names != b.column_names:
        out.problems.append(f"columns differ: {a.column_names} vs {b.column_names}")
        return
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if name in EXACT:
            if not x.equals(y):
                out.problems.append(f"{name} differs in rows {out.rows:,}..")
            continue
        x = x.to_numpy(zero_copy_only=False).astype(np.float64)
        y = y.to_numpy(zero_copy_only=False).astype(np.float64)
        diff = np.abs(x - y)
        both_nan = np.isnan(x) & np.isnan(y)
        diff[both_nan] = 0.0
        if np.isnan(diff).any() or (diff > TOLERANCE + TOLERANCE * np.abs(y)).any():
            out.problems.append(f"{name} beyond 1e-9 in rows {out.rows:,}..")
        rel = diff / np.maximum(np.abs(y), 1e-300)
        rel[diff == 0] = 0.0
        if len(diff) and np.nanmax(diff) > out.abs_diff[0]:
            out.abs_diff = (float(np.nanmax(diff)), name)
        if len(rel) and np.nanmax(rel) > out.rel_diff[0]:
            out.rel_diff = (float(np.nanmax(rel)), name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("left", type=Path)
    parser.add_argument("right", type=Path)
    args = parser.parse_args(argv)
    got = compare(args.left, args.right)
    print(f"rows compared: {got.rows:,}")
    print(f"largest absolute difference: {got.abs_diff[0]:.3g} ({got.abs_diff[1] or '-'})")
    print(f"largest relative difference: {got.rel_diff[0]:.3g} ({got.rel_diff[1] or '-'})")
    for problem in got.problems:
        print(f"DIFFERENT: {problem}")
    print("equal to 1e-9, row for row" if got.equal else "NOT equal")
    return 0 if got.equal else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
