"""The training table on the cluster: one `TablePart` per input partition (features, label,
time, amount and the fields the drift profile reads), kept in the workers' memory while the
model is fitted, and the functions the workers run on it. Rows are chosen by time (`Slice`),
as the embedded `fraud train` chooses them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from fraudcli.engines.dask.assemble import pieces
from fraudcli.engines.dask.compute import PartDone
from fraudcli.engines.dask.graph import Run
from fraudcli.engines.dask.plan import InputPart
from fraudcli.engines.dask.state import registry_table
from fraudcli.features.feature_table import CATEGORICAL, RECORD, FeatureTable
from fraudcli.model.binned_fit import Rows, block_terms
from fraudcli.model.binning import Edges, bin_codes, every_kth, indicator_design, n_slots
from fraudcli.model.select import grid_mask

FIELDS = ("transaction_id", "user_id", *CATEGORICAL, *RECORD)


@dataclass
class TablePart:
    index: int
    X: np.ndarray
    y: np.ndarray  # int8 0/1 (training rows are labelled)
    ts: np.ndarray
    amount: np.ndarray
    fields: dict[str, pa.Array]
    done: PartDone
    ts_sorted: np.ndarray


@dataclass(frozen=True)
class Slice:
    """The rows with `low` < ts <= `high` (`low` <= ts when `low_inclusive`); None: no bound."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = False

    def mask(self, ts: np.ndarray) -> np.ndarray:
        keep = np.ones(len(ts), dtype=bool)
        if self.low is not None:
            keep &= (ts >= self.low) if self.low_inclusive else (ts > self.low)
        if self.high is not None:
            keep &= ts <= self.high
        return keep


def table_part(part: InputPart, users, merchants, dups, run: Run) -> TablePart:
    """The last stage of `fraud train --engine dask`: the partition's training rows."""
    X, rejects, fields = [], [], {name: [] for name in FIELDS}
    for piece in pieces(part, users, merchants, dups, run.columns, run.need_labels):
        rejects += piece.rejects
        X.append(piece.X)
        for name in FIELDS:
            if name in ("lat", "lon"):
                fields[name].append(piece.kept(name).cast(pa.float64()))
            else:
                fields[name].append(piece.kept(name))
        fields.setdefault("ts", []).append(piece.kept("ts"))
        fields.setdefault("amount", []).append(piece.kept("amount"))
        fields.setdefault("is_fraud", []).append(piece.kept("is_fraud"))
    joined = {name: pa.concat_arrays(arrays) for name, arrays in fields.items() if arrays}
    X = np.concatenate(X) if X else np.empty((0, 26))
    ts = _floats(joined.get("ts"))
    y = np.asarray(pc.fill_null(joined["is_fraud"], 0).to_numpy(zero_copy_only=False), np.int8)
    done = PartDone(part.index, part.rows, len(X), rejects)
    kept = {name: joined[name] for name in FIELDS if name in joined}
    return TablePart(part.index, X, y, ts, _floats(joined.get("amount")), kept, done,
                     np.sort(ts))  # fmt: skip


def _floats(array) -> np.ndarray:
    if array is None:
        return np.empty(0)
    return pc.fill_null(array, np.nan).to_numpy(zero_copy_only=False).astype(np.float64)


def registry_rows(table: TablePart, since: float) -> pa.Table:
    """The partition's accepted records after `since` as id registry rows (input order)."""
    fields = table.fields
    return registry_table(fields["transaction_id"], table.ts, fields["merchant_id"],
                          table.y, since)  # fmt: skip


def part_done(table: TablePart) -> PartDone:
    return table.done


def stats(table: TablePart) -> tuple[int, int, float, float]:
    """Rows, frauds, first and last timestamp (NaN when empty)."""
    ts = table.ts_sorted
    first, last = (float(ts[0]), float(ts[-1])) if len(ts) else (np.nan, np.nan)
    return len(ts), int(table.y.sum()), first, last


def counts(table: TablePart, slices: dict[str, Slice]) -> dict[str, tuple[int, int]]:
    """Rows and legitimate rows of each slice."""
    out = {}
    for name, where in slices.items():
        mask = where.mask(table.ts)
        out[name] = (int(mask.sum()), int((mask & (table.y == 0)).sum()))
    return out


def window(table: TablePart, low: float, high: float, size: int) -> tuple[int, np.ndarray]:
    """The timestamps in (low, high]: how many, and up to `size` of them evenly spaced."""
    ts = table.ts_sorted
    a, b = np.searchsorted(ts, low, side="right"), np.searchsorted(ts, high, side="right")
    inside = ts[a:b]
    if len(inside) <= max(size, 1):
        return len(inside), inside
    return len(inside), inside[np.linspace(0, len(inside) - 1, size).astype(np.int64)]


def ranks(table: TablePart, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each value, the timestamps < it and <= it."""
    ts = table.ts_sorted
    return np.searchsorted(ts, values, side="left"), np.searchsorted(ts, values, side="right")


def every_kth_rows(table: TablePart, where: Slice, k: int, before: int) -> np.ndarray:
    """The features of every k-th row of the slice (its rank counted from `before`, the slice's
    rows in earlier partitions): the sample the bins are learnt from."""
    return table.X[every_kth(where.mask(table.ts), k, before)]


@dataclass
class DesignPart:
    """The indicator design of some rows of a partition, their labels and row weights."""

    design: sp.csr_matrix
    y: np.ndarray
    weight: np.ndarray

    def weights(self) -> tuple[float, float]:
        return float(self.weight.sum()), float(self.weight @ self.y)

    def slot_counts(self) -> np.ndarray:
        return self.design.T @ self.weight


def chosen_rows(table: TablePart, where: Slice, grid: tuple[int, int] | None):
    """The rows of the slice (indices, input order) and their weights; with `grid` = (k,
    legitimate rows of the slice in earlier partitions), the C grid's rows only: every fraud
    and every k-th legitimate row, weight k (`select.grid_mask`)."""
    rows = np.flatnonzero(where.mask(table.ts))
    if grid is None:
        return rows, np.ones(len(rows))
    k, before = grid
    y = table.y[rows]
    chosen = grid_mask(y, k, before)
    return rows[chosen], np.where(y[chosen] == 1, 1.0, float(k))


def chosen_count(table: TablePart, where: Slice, grid: tuple[int, int] | None) -> int:
    return len(chosen_rows(table, where, grid)[0])


def design_range(pieces: list, edges: Edges, where: Slice) -> DesignPart:
    """The design of a range of the chosen rows in input order, which may span partitions:
    `pieces` are (table, grid or None, first, last) taking chosen rows [first, last) of each
    table, so a part can hold whole blocks of the objective's sums (`block_rows`)."""
    X, y, weights = [], [], []
    for table, grid, first, last in pieces:
        rows, weight = chosen_rows(table, where, grid)
        rows, weight = rows[first:last], weight[first:last]
        X.append(table.X[rows])
        y.append(table.y[rows].astype(np.float64))
        weights.append(weight)
    X = np.concatenate(X) if X else np.empty((0, len(edges)))
    design = indicator_design(bin_codes(X, edges), n_slots(edges))
    return DesignPart(design, np.concatenate(y), np.concatenate(weights))


def rows_of(part: DesignPart, total: float, size: int) -> list[Rows]:
    """The part's terms of the objective, a `Rows` per block of `size` rows (weights divided
    by the total of all parts): the embedded objective's blocks, as the part starts on one."""
    return block_terms(part.design, part.y, part.weight / total, size)


def evaluate(blocks: list[Rows], coef: np.ndarray, intercept: float) -> list:
    return [block(coef, intercept) for block in blocks]


def log_loss_sum(part: DesignPart, coef: np.ndarray, intercept: float) -> tuple[float, int]:
    """Sum of log(1 + e^z) - y z over the part's rows, and their number."""
    z = part.design @ coef + intercept
    return float(np.sum(np.logaddexp(0.0, z) - part.y * z)), len(z)


def scored(table: TablePart, where: Slice, scorers: list) -> dict[str, np.ndarray]:
    """Labels, time, amount and each scorer's probabilities of the slice's rows."""
    mask = where.mask(table.ts)
    out = {"y": table.y[mask], "ts": table.ts[mask], "amount": table.amount[mask]}
    for i, scorer in enumerate(scorers):
        out[f"p{i}"] = scorer.proba(table.X[mask]) if mask.any() else np.empty(0)
    return out


def sample_table(table: TablePart, where: Slice, k: int, before: int) -> FeatureTable:
    """Every k-th row of the slice (rank from `before`) as a `FeatureTable` (the profile's)."""
    mask = every_kth(where.mask(table.ts), k, before)
    take = pa.array(np.flatnonzero(mask), pa.int64())

    def values(name: str) -> list:
        return table.fields[name].take(take).to_pylist()

    return FeatureTable(
        table.X[mask],
        table.y[mask],
        table.ts[mask],
        table.amount[mask],
        values("transaction_id"),
        values("user_id"),
        {name: values(name) for name in CATEGORICAL + RECORD},
    )
