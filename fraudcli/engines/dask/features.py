"""`fraud features DATASET --engine dask -o DIR`: the point-in-time feature table of a dataset,
computed across a cluster and written as a Parquet dataset (one part file per input partition,
in input order), equal row for row to the embedded `fraud features` (to 1e-9)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudcli.engines.dask.assemble import Piece, pieces
from fraudcli.engines.dask.cluster import DaskOptions, connected, dashboard_link, n_workers
from fraudcli.engines.dask.compute import (
    PartDone,
    Progress,
    ShuffleStats,
    run_parts,
    shuffle_stats,
    side_size,
)
from fraudcli.engines.dask.graph import Run, feature_graph
from fraudcli.engines.dask.outputs import (
    DatasetOut,
    RejectParts,
    check_dataset_target,
    part_name,
    summarise,
)
from fraudcli.engines.dask.plan import InputPart, plan
from fraudcli.features.feature_table import FeatureTable, to_arrow
from fraudcli.features.store import StoreConfig
from fraudcli.records.accounting import RunSummary
from fraudcli.records.schema import ColumnMap


def features_dataset(
    data: Path,
    output: Path | None,
    *,
    columns: ColumnMap,
    store: StoreConfig,
    options: DaskOptions,
    rejects_dir: Path | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> tuple[RunSummary, ShuffleStats]:
    """Features of every valid row of `data` from an empty store, as the dataset `output`."""
    check_dataset_target(output, "-o")
    if rejects_dir is not None:
        check_dataset_target(rejects_dir, "--rejects")
    progress = progress or Progress()
    started = time.perf_counter()
    run = Run(tuple(plan(data, options.partition_rows)), columns, store,
              side_rows=options.side_rows)  # fmt: skip
    parts = run.parts
    out, rejects = DatasetOut(output), RejectParts(rejects_dir)
    try:
        with connected(options) as client:
            stats = ShuffleStats(
                len(parts), n_workers(client), dashboard_link(client, options.scheduler is None)
            )
            progress.plan(len(parts), stats.dashboard)
            done, stats = _computed(client, run, str(out.path), stats, progress)
        summary = summarise(done, rejects, started, strict)
        out.commit()
    except BaseException:
        out.discard()
        rejects.close_stopped()
        raise
    rejects.commit()
    return summary, stats


def _computed(client, run: Run, out: str, stats: ShuffleStats, progress: Progress):
    from dask import delayed

    if not run.parts:
        return [], stats
    graph = feature_graph(run, None, keep_state=False)
    finals = [
        delayed(write_part)(part, graph.users[i], graph.merchants[i], graph.dups, run, out)
        for i, part in enumerate(run.parts)
    ]
    sizes = [delayed(side_size)(side) for side in graph.user_sides + graph.merchant_sides]
    done, sizes, _ = run_parts(client, finals, sizes, progress)
    return done, shuffle_stats(sizes, len(run.parts), stats.workers, stats.dashboard)


def write_part(part: InputPart, users, merchants, dups, run: Run, out: str) -> PartDone:
    """The feature table of one input partition, written as its part file."""
    tables, rejects = [], []
    for piece in pieces(part, users, merchants, dups, run.columns, run.need_labels):
        rejects += piece.rejects
        tables.append(feature_table(piece))
    table = pa.concat_tables(tables) if tables else feature_table(None)
    pq.write_table(table, Path(out) / part_name(part.index, "parquet"))
    return PartDone(part.index, part.rows, table.num_rows, rejects)


def feature_table(piece: Piece | None) -> pa.Table:
    """`fraudcli.features.feature_table.to_arrow` of a piece's rows (its schema when None)."""
    if piece is None:
        empty = np.empty(0)
        return to_arrow(FeatureTable(np.empty((0, 26)), np.empty(0, np.int8), empty, empty))
    label = piece.kept("is_fraud")
    y = pc.fill_null(label.cast(pa.int8()), -1).to_numpy(zero_copy_only=False)
    table = FeatureTable(
        piece.X,
        np.asarray(y, dtype=np.int8),
        piece.kept("ts").to_numpy(zero_copy_only=False),
        piece.kept("amount").to_numpy(zero_copy_only=False),
        transaction_id=piece.kept("transaction_id"),
        user_id=piece.kept("user_id"),
    )
    return to_arrow(table)
