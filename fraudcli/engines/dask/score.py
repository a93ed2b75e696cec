"""`fraud score DATASET --engine dask -o DIR`: backfill scoring across a cluster, continuing
from a feature state (a bundle's or a `--state` directory's), equal to the embedded run row
for row.

The features are the graph of `fraudcli.engines.dask.graph` with the state's entries, label
changes and accepted ids joined to the shuffles; each input partition is then judged and
written as the column path judges and writes a block (`ColumnScorer.finish`: the model over
the block, rules and block lists over columns, rows not plainly ALLOW by the record path's
own code), through the embedded Parquet writer, one part file per partition. The state at the
end (`Scoring.state`) is the sides' tables put back together and the id registry: the
state's ids still within the window of the newest, then the accepted rows', in input order.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudcli.config.load import Config
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
from fraudcli.engines.dask.sides import gathered_state, side_state
from fraudcli.engines.dask.state import registry_table
from fraudcli.features.store import StoreConfig
from fraudcli.records.accounting import RunSummary


@dataclass(frozen=True)
class Deciding:
    """What a worker needs to decide rows, as plain data: the bundle's model (`model.json`)
    and thresholds, the run's configuration (rules, block lists, policy)."""

    model: dict
    thresholds: dict
    config: Config
    with_features: bool = False

    def column_scorer(self):
        from fraudcli.model.scorer import load_scorer
        from fraudcli.scoring.blocks import ColumnScorer
        from fraudcli.scoring.load import build_engine

        engine = build_engine(self.config, self.thresholds)
        return ColumnScorer(None, load_scorer(self.model), engine, self.with_features)


@dataclass(frozen=True)
class Scoring:
    """A run's summary, the shuffles' sizes, the first row's time (None: no row) and, when
    asked for, the state at the end."""

    summary: RunSummary
    stats: ShuffleStats
    first: float | None
    state: dict[str, pa.Table] | None


def score_dataset(
    data: Path,
    output: Path | None,
    *,
    stored: dict[str, pa.Table] | None,
    store: StoreConfig,
    deciding: Deciding,
    options: DaskOptions,
    rejects_dir: Path | None = None,
    strict: bool = False,
    keep_state: bool = False,
    progress: Progress | None = None,
) -> Scoring:
    """Decide every valid row of `data`, continuing from the state `stored` (None: empty),
    into the dataset `output`; the state at the end too with `keep_state`."""
    check_dataset_target(output, "-o")
    if rejects_dir is not None:
        check_dataset_target(rejects_dir, "--rejects")
    progress = progress or Progress()
    started = time.perf_counter()
    run = Run(tuple(plan(data, options.partition_rows)), deciding.config.columns, store,
              side_rows=options.side_rows)  # fmt: skip
    out, rejects = DatasetOut(output), RejectParts(rejects_dir)
    try:
        with connected(options) as client:
            stats = ShuffleStats(len(run.parts), n_workers(client),
                                 dashboard_link(client, options.scheduler is None))  # fmt: skip
            progress.plan(len(run.parts), stats.dashboard)
            found = _computed(client, run, stored, deciding, str(out.path), stats, keep_state,
                              progress)  # fmt: skip
        done, stats, first, state = found
        summary = summarise(done, rejects, started, strict)
        out.commit()
    except BaseException:
        out.discard()
        rejects.close_stopped()
        raise
    rejects.commit()
    return Scoring(summary, stats, first, state)


def _computed(client, run, stored, deciding, out: str, stats, keep_state: bool, progress):
    from dask import delayed

    if not run.parts:
        return [], stats, None, _empty_state(stored, run.config) if keep_state else None
    graph = feature_graph(run, stored, keep_state=keep_state)
    since = graph.newest - run.config.id_window
    finals = [
        delayed(score_part)(
            part, graph.users[i], graph.merchants[i], graph.dups, run, deciding, out, since
        )  # fmt: skip
        for i, part in enumerate(run.parts)
    ]
    sides = graph.user_sides + graph.merchant_sides
    extras = [delayed(side_size)(side) for side in sides]
    extras.append(delayed(_first)(graph.first))
    if keep_state:
        extras += [delayed(side_state)(side) for side in sides]
        extras.append(since)
    done, values, _ = run_parts(client, finals, extras, progress)
    _one_schema(client, out, done)
    n = len(sides)
    stats = shuffle_stats(values[:n], len(run.parts), stats.workers, stats.dashboard)
    state = None
    if keep_state:
        state = _end_state(values[n + 1 : 2 * n + 1], stored, done, values[-1])
    return [d.done for d in done], stats, values[n], state


def _first(first: Any) -> float | None:
    return None if first is None or np.isnan(first) else float(first)


@dataclass(frozen=True)
class PartScored:
    """What the last stage of one input partition did (`PartDone`, read by `run_parts` by its
    `index`), its accepted rows within the id window of the newest (registry rows), and the
    schema its part file was written with (None: no rows)."""

    done: PartDone
    registry: pa.Table
    schema: pa.Schema | None

    @property
    def index(self) -> int:
        return self.done.index


def score_part(
    part: InputPart, users, merchants, dups, run: Run, deciding: Deciding, out: str, since: float
) -> PartScored:
    """The decisions of one input partition, written as its part file by the embedded
    writer, block by block as the column path writes them."""
    from fraudcli.io.writers import open_writer
    from fraudcli.scoring.output import OUTPUT_KEYS

    scorer = deciding.column_scorer()
    rejects, decisions, registry, written = [], Counter(), [], 0
    path = Path(out) / part_name(part.index, "parquet")
    with open_writer(path) as writer:
        for piece in pieces(part, users, merchants, dups, run.columns, run.need_labels):
            rejects += piece.rejects
            ready = scorer.take(piece.block, piece.keep)
            ready.X = piece.X
            scored = scorer.finish(ready)
            writer.write_arrow(scored.table, scored.rows, OUTPUT_KEYS)
            written += scored.table.num_rows
            if scored.table.num_rows:
                for entry in pc.value_counts(scored.table["decision"]).to_pylist():
                    decisions[entry["values"]] += entry["counts"]
            registry.append(_registry_rows(piece, since))
    table = pa.concat_tables(registry) if registry else registry_table(
        pa.array([], pa.string()), np.empty(0), pa.array([], pa.string()), np.empty(0), since
    )  # fmt: skip
    schema = pq.read_schema(path) if written else None
    done = PartDone(part.index, part.rows, written, rejects, dict(decisions))
    return PartScored(done, table, schema)


def _one_schema(client, out: str, done: list[PartScored]) -> None:
    """Every part file with the one schema the embedded writer would have grown over all of
    them in input order (`io.growing_writer.grown`): a part written with a narrower one (a
    column null throughout, text from a block checked row by row, no rows at all) is written
    again, widened."""
    from fraudcli.io.growing_writer import grown

    schemas = [d.schema for d in done if d.schema is not None]
    if not schemas:
        return
    schema = schemas[0]
    for other in schemas[1:]:
        schema = grown(schema, other)
    paths = [str(Path(out) / part_name(d.index, "parquet")) for d in done if d.schema != schema]
    client.gather(client.map(widened, paths, schema=schema, pure=False))


def widened(path: str, schema: pa.Schema) -> None:
    """The part file at `path` with exactly `schema`'s columns (`growing_writer.conform`)."""
    from fraudcli.io.growing_writer import conform

    table = pq.read_table(path)
    table = conform(table, schema) if table.num_columns else schema.empty_table()
    pq.write_table(table, path, compression="zstd")


def _registry_rows(piece: Piece, since: float) -> pa.Table:
    label = pc.fill_null(piece.kept("is_fraud").cast(pa.int8()), -1)
    ts = piece.kept("ts").to_numpy(zero_copy_only=False).astype(np.float64)
    return registry_table(
        piece.kept("transaction_id"), ts, piece.kept("merchant_id"),
        label.to_numpy(zero_copy_only=False), since,
    )  # fmt: skip


def _end_state(states: list, stored, done: list[PartScored], since: float) -> dict:
    """The sides' tables put back together and the id registry: the state's ids still within
    the window, then the accepted rows', in input order."""
    state = gathered_state(states)
    known = [] if stored is None or "transactions" not in stored else [stored["transactions"]]
    known = [t.filter(pc.greater(t["ts"], since)) for t in known]
    state["transactions"] = pa.concat_tables([*known, *(d.registry for d in done)])
    return state


def _empty_state(stored, config: StoreConfig) -> dict[str, pa.Table]:
    """The state of a run with no partitions: the one it started from, or an empty one."""
    from fraudcli.features.store import InMemoryStore

    return dict(stored) if stored is not None else InMemoryStore(config).snapshot()
