"""`fraud train DATASET --engine dask`: the features on the cluster, kept there, and the model
fitted over them as the embedded `fraud train` fits it, step for step:

    split      the validation cutoff is NumPy's linear quantile of the timestamps, from two
               order statistics found across the partitions (`fit.kth_smallest`): the same
               cutoff, to the bit, and so the same rows on each side
    bins       from every k-th training row in input order (`binning.stride`), gathered here
               and given to `learn_edges`: the same sample, so the same edges
    grid, fit  every fraud and every k-th legitimate training row (`select.grid_mask`); C by
               `select.choose_C`, each fit L-BFGS here over the partitions' partial sums
    refit      the same bins and C on every row whose label is known at the end of the data

What the commands layer then needs to finish the bundle as the embedded path does is
returned: both models, the validation rows' labels, times, amounts and scores (gathered
here: about 25 bytes a validation row), the held-out scores of both models, the store's state,
and every k-th steady row (at most PROFILE_ROWS) for the drift profile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from fraudcli.engines.dask import table as parts
from fraudcli.engines.dask.cluster import DaskOptions, connected, dashboard_link, n_workers
from fraudcli.engines.dask.compute import Progress, ShuffleStats, run_parts, shuffle_stats
from fraudcli.engines.dask.fit import ClusterRows, kth_smallest
from fraudcli.engines.dask.graph import Run, feature_graph
from fraudcli.engines.dask.outputs import RejectParts, check_dataset_target, summarise
from fraudcli.engines.dask.plan import plan
from fraudcli.engines.dask.sides import gathered_state, side_keys, side_state
from fraudcli.engines.dask.state import trained_state
from fraudcli.engines.dask.table import Slice
from fraudcli.features.feature_table import FeatureTable
from fraudcli.features.spec import LONGEST_WINDOW
from fraudcli.features.store import StoreConfig
from fraudcli.model import binning
from fraudcli.model.binning import learn_edges, stride
from fraudcli.model.select import Fitted, GridPoint, choose_C, grid_stride
from fraudcli.model.split import check_enough, check_split, linear_quantile
from fraudcli.records.accounting import RunSummary
from fraudcli.records.schema import ColumnMap

PROFILE_ROWS = 200_000  # steady rows the drift profile is made of, at most (every k-th)
MIN_SHARE_AFTER_WARMUP = 0.2  # as `fraudcli.commands.reference.steady_rows`


@dataclass(frozen=True)
class DaskTraining:
    first: Fitted
    served: Fitted
    n_train: int
    n_valid: int
    n_refit: int
    validation: dict[str, np.ndarray]  # y, ts, amount, p0 (the first model's scores)
    held_out: dict[str, np.ndarray] | None  # p0, p1: the first and the refit model's
    state: dict[str, pa.Table]
    profile: FeatureTable  # every k-th steady row
    warmup_excluded: int
    fingerprint: dict
    summary: RunSummary
    stats: ShuffleStats


def train_dataset(
    data: Path,
    *,
    columns: ColumnMap,
    store: StoreConfig,
    fraction: float,
    C: float | None,
    refit: bool,
    options: DaskOptions,
    rejects_dir: Path | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> DaskTraining:
    if rejects_dir is not None:
        check_dataset_target(rejects_dir, "--rejects")
    progress, stage = progress or Progress(), on_stage or (lambda _text: None)
    started = time.perf_counter()
    run = Run(tuple(plan(data, options.partition_rows)), columns, store, need_labels=True,
              side_rows=options.side_rows)  # fmt: skip
    rejects = RejectParts(rejects_dir)
    try:
        with connected(options) as client:
            stats = ShuffleStats(len(run.parts), n_workers(client),
                                 dashboard_link(client, options.scheduler is None))  # fmt: skip
            progress.plan(len(run.parts), stats.dashboard)
            tables, state, stats, users = _features(client, run, rejects, stats, progress)
            summary = summarise(tables[1], rejects, started, strict)
            stage("fitting on the cluster")
            fitted = _Fitting(client, tables[0], store.label_delay, fraction, stage)
            result = fitted.train(C, refit)
            fingerprint = fitted.fingerprint(users)
            state = trained_state(state, fitted.registry(store.id_window))
    except BaseException:
        rejects.close_stopped()
        raise
    rejects.commit()
    summary.seconds = time.perf_counter() - started
    return DaskTraining(**result, state=state, fingerprint=fingerprint, summary=summary,
                        stats=stats)  # fmt: skip


def _features(client, run: Run, rejects, stats: ShuffleStats, progress: Progress):
    """The training table's partitions (futures, left on the cluster), the store's state at
    the end of the data, the shuffles' sizes, and the number of users."""
    from dask import delayed

    if not run.parts:
        check_enough(0, 0)
    graph = feature_graph(run, None, keep_state=True)
    tables = [
        delayed(parts.table_part)(part, graph.users[i], graph.merchants[i], graph.dups, run)
        for i, part in enumerate(run.parts)
    ]
    dones = [delayed(parts.part_done)(t) for t in tables]
    sides = graph.user_sides + graph.merchant_sides
    extras = [delayed(_size)(s) for s in sides]
    extras += [delayed(side_state)(s) for s in sides]
    extras += [delayed(side_keys)(s) for s in graph.user_sides]
    done, values, kept = run_parts(client, dones, extras, progress, keep=tables)
    n = len(sides)
    sizes, states, users = values[:n], values[n : 2 * n], sum(values[2 * n :])
    stats = shuffle_stats(sizes, len(run.parts), stats.workers, stats.dashboard)
    return (kept, done), gathered_state(states), stats, users


def _size(side):
    return side.rows, side.largest


class _Fitting:
    """The fitting stages over the table's partitions (futures of `TablePart`)."""

    def __init__(self, client, tables: list, delay: float, fraction: float, stage) -> None:
        self.client, self.tables, self.delay, self.stage = client, tables, delay, stage
        rows = client.gather(client.map(parts.stats, tables, pure=False))
        self.n = sum(r[0] for r in rows)
        self.frauds = sum(r[1] for r in rows)
        check_enough(self.n, self.frauds)
        self.first_ts = float(np.nanmin([r[2] for r in rows]))
        self.last_ts = float(np.nanmax([r[3] for r in rows]))
        cutoff = linear_quantile(self.n, 1.0 - fraction, lambda k: kth_smallest(client, tables, k))
        self.train_rows = Slice(high=cutoff - delay)
        self.valid_rows = Slice(low=cutoff)
        self.known = Slice(high=self.last_ts - delay)

    def count(self, **slices: Slice) -> dict[str, list[tuple[int, int]]]:
        """Per slice, per partition: (rows, legitimate rows)."""
        found = self.client.gather(self.client.map(parts.counts, self.tables, slices=slices,
                                                   pure=False))  # fmt: skip
        return {name: [f[name] for f in found] for name in slices}

    def train(self, C: float | None, refit: bool) -> dict:
        counted = self.count(train=self.train_rows, valid=self.valid_rows, known=self.known)
        n_train = sum(n for n, _ in counted["train"])
        n_valid = sum(n for n, _ in counted["valid"])
        check_split(n_train, n_valid)
        edges = self.edges(n_train, counted["train"])
        first = self.fit_first(edges, counted["train"], C, sample=refit)
        self.stage("scoring the validation slice")
        validation = self.scores(self.valid_rows, [first.scorer])
        served, held_out, n_refit = first, None, 0
        if refit:
            self.stage("refitting on every labelled row")
            rows = ClusterRows(self.client, self.tables, edges, self.known)
            served = rows.fit(first.C, first.params, first.grid)
            rows.close()
            n_refit = sum(n for n, _ in counted["known"])
            held = Slice(low=self.last_ts - self.delay) if n_refit < self.n else self.valid_rows
            held_out = self.scores(held, [first.scorer, served.scorer])
        self.stage("sampling the training data for the drift profile")
        profile, excluded = self.profile_sample()
        return dict(first=first, served=served, n_train=n_train, n_valid=n_valid,
                    n_refit=n_refit, validation=validation, held_out=held_out,
                    profile=profile, warmup_excluded=excluded)  # fmt: skip

    def edges(self, n_train: int, counted: list[tuple[int, int]]):
        """`learn_edges` of every k-th training row: the embedded path's sample."""
        k, before = stride(n_train, binning.SAMPLE_ROWS), _before([n for n, _ in counted])
        futures = [
            self.client.submit(parts.every_kth_rows, t, self.train_rows, k, b, pure=False)
            for t, b in zip(self.tables, before, strict=True)
        ]
        return learn_edges(np.concatenate(self.client.gather(futures)))

    def fit_first(self, edges, counted, C: float | None, sample: bool) -> Fitted:
        """`select.fit_first` over the partitions."""
        k = grid_stride(sum(legit for _, legit in counted))
        grid_rows = (k, _before([legit for _, legit in counted])) if k > 1 else None
        subset = ClusterRows(self.client, self.tables, edges, self.train_rows, grid_rows)
        grid: list[GridPoint] = []
        start = None
        if C is None:
            self.stage("choosing C on the validation slice")
            valid = ClusterRows(self.client, self.tables, edges, self.valid_rows)

            def fit_at(value: float, warm):
                return _Model(subset.fit(value, warm))

            C, start = choose_C(fit_at, lambda m: valid.mean_log_loss(m.params_), grid)
            valid.close()
        self.stage("fitting the model")
        if sample or grid_rows is None:
            fitted = subset.fit(C, start, grid)
        else:
            subset.close()
            subset = ClusterRows(self.client, self.tables, edges, self.train_rows)
            fitted = subset.fit(C, start, grid)
        subset.close()
        return fitted

    def scores(self, where: Slice, scorers: list) -> dict[str, np.ndarray]:
        found = self.client.gather(self.client.map(parts.scored, self.tables, where=where,
                                                   scorers=scorers, pure=False))  # fmt: skip
        return {name: np.concatenate([f[name] for f in found]) for name in found[0]}

    def profile_sample(self) -> tuple[FeatureTable, int]:
        """Every k-th steady row (after the warm-up, as `reference.steady_rows`)."""
        steady = Slice(low=self.first_ts + LONGEST_WINDOW + self.delay, low_inclusive=True)
        counted = self.count(steady=steady)["steady"]
        n_steady = sum(n for n, _ in counted)
        if n_steady < MIN_SHARE_AFTER_WARMUP * self.n:
            steady, counted, n_steady = Slice(), self.count(all=Slice())["all"], self.n
        k, before = stride(n_steady, PROFILE_ROWS), _before([n for n, _ in counted])
        futures = [
            self.client.submit(parts.sample_table, t, steady, k, b, pure=False)
            for t, b in zip(self.tables, before, strict=True)
        ]
        return _concat_tables(self.client.gather(futures)), self.n - n_steady

    def registry(self, window: float) -> pa.Table:
        """The id registry at the end of the data: the accepted records within the window of
        the newest (`IdRegistry.table`), gathered here in input order."""
        since = self.last_ts - window
        found = self.client.gather(self.client.map(parts.registry_rows, self.tables,
                                                   since=since, pure=False))  # fmt: skip
        return pa.concat_tables(found)

    def fingerprint(self, users: int) -> dict:
        return {"rows": self.n, "frauds": self.frauds, "users": users,
                "first_timestamp": self.first_ts, "last_timestamp": self.last_ts}  # fmt: skip


@dataclass(frozen=True)
class _Model:
    """A grid point's fit as `choose_C` reads it (its params and iterations)."""

    fitted: Fitted

    @property
    def params_(self) -> np.ndarray:
        return self.fitted.params

    @property
    def n_iter_(self) -> int:
        return self.fitted.n_iter


def _before(counts: list[int]) -> list[int]:
    """How many rows come before each partition's (input order)."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist()


def _concat_tables(tables: list[FeatureTable]) -> FeatureTable:
    categorical = {
        name: [v for t in tables for v in t.categorical[name]] for name in tables[0].categorical
    }
    return FeatureTable(
        np.concatenate([t.X for t in tables]),
        np.concatenate([t.y for t in tables]),
        np.concatenate([t.ts for t in tables]),
        np.concatenate([t.amount for t in tables]),
        [v for t in tables for v in t.transaction_id],
        [v for t in tables for v in t.user_id],
        categorical,
    )
