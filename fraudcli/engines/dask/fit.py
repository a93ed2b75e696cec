"""Fitting on the cluster: the objective as a sum over partitions (each worker returns its
partial loss and gradient for the parameters it is sent; L-BFGS runs here, as dask-glm does),
and the k-th smallest timestamp across partitions (for the validation cutoff).

The objective's sums are made by blocks of rows, as the embedded objective makes them
(`binned_fit.block_rows`), and added in block order: on the same designs, the same numbers, so
L-BFGS takes the same steps to the same optimum (tests: to 1e-6; here, to the bit)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fraudcli.engines.dask import table as parts
from fraudcli.model.binned_fit import (
    BinnedLogisticRegression,
    block_rows,
    penalised,
    start_params,
)
from fraudcli.model.binning import Edges, n_slots
from fraudcli.model.select import Fitted, fitted_from

WINDOW_SAMPLE = 512  # timestamps each partition offers per round of the k-th selection
GATHER_AT_MOST = 200_000  # timestamps gathered here once a round's window holds no more


class ClusterObjective:
    """The penalised loss and gradient per unit of row weight (`penalised`) over the design
    parts on the workers, each summed by blocks as the embedded objective sums them; their
    `Rows` stay there between calls."""

    def __init__(self, client: Any, designs: list, total: float, l2: float, size: int) -> None:
        self.client, self.l2 = client, l2
        self.rows = client.map(parts.rows_of, designs, total=total, size=size, pure=False)

    def __call__(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = params[:-1].copy(), float(params[-1])
        futures = self.client.map(
            parts.evaluate, self.rows, coef=coef, intercept=intercept, pure=False
        )
        blocks = [block for found in self.client.gather(futures) for block in found]
        return penalised(params, self.l2, blocks)

    def close(self) -> None:
        self.client.cancel(self.rows)


class ClusterRows:
    """The design of the chosen rows (a slice, or the C grid's rows of it), in parts on the
    workers that each start on a block of the objective's sums (`block_rows`): part i holds
    the blocks that start among partition i's rows, the rows of its last block taken from
    the partitions after it when that block runs past its end."""

    def __init__(self, client: Any, tables: list, edges: Edges, where, grid=None) -> None:
        self.client, self.edges = client, edges
        grids = [None] * len(tables) if grid is None else [(grid[0], b) for b in grid[1]]
        sizes = client.gather([
            client.submit(parts.chosen_count, t, where, g, pure=False)
            for t, g in zip(tables, grids, strict=True)
        ])  # fmt: skip
        n = int(sum(sizes))
        self.size = block_rows(n)
        first = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        starts = [0, *(min(-(-int(o) // self.size) * self.size, n) for o in first[1:-1]), n]
        self.designs = []
        for lo, hi in zip(starts[:-1], starts[1:], strict=True):
            if lo >= hi:
                continue
            pieces = [
                (t, g, max(lo, a) - a, min(hi, b) - a)
                for t, g, a, b in zip(tables, grids, first[:-1], first[1:], strict=True)
                if a < hi and b > lo
            ]
            self.designs.append(client.submit(parts.design_range, pieces, edges, where, pure=False))
        sums = client.gather(client.map(_weights, self.designs, pure=False))
        self.total = float(sum(s[0] for s in sums))
        self.positive = float(sum(s[1] for s in sums))

    def fit(self, C: float, start: np.ndarray | None, grid=()) -> Fitted:
        """The fit at C (from `start`, else the best constant), as `select.fit_design`."""
        slots = n_slots(self.edges)
        objective = ClusterObjective(self.client, self.designs, self.total,
                                     1.0 / (C * self.total), self.size)  # fmt: skip
        if start is None:
            start = start_params(int(slots.sum()), self.positive / self.total)
        model = BinnedLogisticRegression(C=C).fit_objective(objective, slots, start)
        counts = self.sum(parts.DesignPart.slot_counts)
        return fitted_from(model, counts, slots, self.edges, C, tuple(grid))

    def sum(self, function) -> np.ndarray:
        results = self.client.gather(self.client.map(function, self.designs, pure=False))
        return np.sum(np.stack(results), axis=0) if results else np.zeros(0)

    def mean_log_loss(self, params: np.ndarray) -> float:
        """`select.log_loss` of these rows at `params` (coef..., intercept)."""
        futures = self.client.map(parts.log_loss_sum, self.designs, coef=params[:-1].copy(),
                                  intercept=float(params[-1]), pure=False)  # fmt: skip
        sums = self.client.gather(futures)
        return sum(s for s, _ in sums) / sum(n for _, n in sums)

    def close(self) -> None:
        self.client.cancel(self.designs)


def _weights(part: parts.DesignPart) -> tuple[float, float]:
    return part.weights()


def kth_smallest(client: Any, tables: list, k: int) -> float:
    """The k-th smallest timestamp (from 0) of all partitions, exactly: each round narrows a
    window of values (low, high] holding it, by pivots the partitions offer, until the window
    holds few enough values to gather (or a pivot is the answer: ties end it at once)."""
    low, high, below = -np.inf, np.inf, 0  # below: how many values are <= low
    while True:
        offers = client.gather(client.map(parts.window, tables, low=low, high=high,
                                          size=WINDOW_SAMPLE, pure=False))  # fmt: skip
        inside = sum(n for n, _ in offers)
        if inside <= GATHER_AT_MOST:
            everything = client.map(parts.window, tables, low=low, high=high, size=inside,
                                    pure=False)  # fmt: skip
            values = np.sort(np.concatenate([v for _, v in client.gather(everything)]))
            return float(values[k - below])
        pivots = np.unique(np.concatenate([v for _, v in offers]))
        ranks = client.gather(client.map(parts.ranks, tables, values=pivots, pure=False))
        less = np.sum(np.stack([r[0] for r in ranks]), axis=0)
        at_most = np.sum(np.stack([r[1] for r in ranks]), axis=0)
        j = int(np.searchsorted(at_most, k, side="right"))  # the first pivot with more than k
        if j < len(pivots):
            if less[j] <= k:
                return float(pivots[j])
            high = float(pivots[j])
        if j > 0:
            low, below = float(pivots[j - 1]), int(at_most[j - 1])
