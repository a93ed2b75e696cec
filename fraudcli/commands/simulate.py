"""`fraud simulate`: labelled synthetic transactions written to a file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc

from fraudcli.io.writers import write_table
from fraudcli.simulation.simulate import simulate


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
    seed: int = 7,
    start: str = "2026-01-01",
    days: float = 60.0,
    drift: bool = False,
) -> Simulated:
    """Simulate `n` transactions (see `fraudcli.simulation.simulate`) and write them to `output`
    (by its extension)."""
    table = simulate(n, seed=seed, start=start, days=days, drift=drift)
    write_table(table, output)
    return Simulated(table.num_rows, int(pc.sum(table["is_fraud"]).as_py() or 0), Path(output))
