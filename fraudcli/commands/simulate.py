"""`fraud simulate`: labelled synthetic transactions written to a file, a chunk at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from fraudcli.io.writers import write_tables
from fraudcli.simulation.simulate import simulate_chunks


@dataclass(frozen=True)
class Simulated:
    rows: int
    frauds: int
    path: Path

    @property
    def fraud_share(self) -> float:
        return self.frauds / max(self.rows, 1)


def simulate_file(
    output: Path,
    n: int,
    *,
    on_rows: Callable[[int], None] | None = None,
    **options,
) -> Simulated:
    """Simulate `n` transactions (`fraudcli.simulation.simulate`, `options` as there) and write
    them to `output` (by its extension) chunk by chunk, so memory is bounded by a chunk;
    `on_rows(n)` after each."""
    counts = [0, 0]

    def counted(tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
        for table in tables:
            counts[0] += table.num_rows
            counts[1] += int(np.asarray(table.column("is_fraud")).sum())
            yield table

    write_tables(counted(simulate_chunks(n, **options)), output, on_rows)
    return Simulated(counts[0], counts[1], Path(output))
