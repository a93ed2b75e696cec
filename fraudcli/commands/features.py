"""`fraud features`: the point-in-time feature table of a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fraudcli.commands.engine import PartitionProgress, check_dask_input, engine_progress
from fraudcli.config.load import load_config
from fraudcli.features.feature_table import collect_features, to_arrow
from fraudcli.features.store import InMemoryStore
from fraudcli.files import check_distinct
from fraudcli.io.read import read_batches
from fraudcli.io.writers import write_table
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink


def features_file(
    data: Path,
    output: Path | None,
    *,
    config_path: Path | None = None,
    mapping: list[str] | None = None,
    rejects_path: Path | None = None,
    strict: bool = False,
    raw_csv: bool = False,
    on_batch: Callable[[int], None] | None = None,
    dask=None,
    progress: PartitionProgress | None = None,
) -> RunSummary:
    """Features of every record of `data`, from an empty store, written to `output`; on the
    Dask engine when `dask` (`DaskOptions`, see `fraudcli.commands.engine`) is given, as a
    Parquet dataset directory (rejects too, as a dataset), equal row for row."""
    check_distinct([data], [("-o", output), ("--rejects", rejects_path)])
    config = load_config(config_path, mapping)
    if dask is not None:
        from fraudcli.engines.dask import features_dataset

        summary, stats = features_dataset(
            check_dask_input(data), output, columns=config.columns, store=config.store,
            options=dask, rejects_dir=rejects_path, strict=strict,
            progress=engine_progress(progress),
        )  # fmt: skip
        summary.engine = stats
        return summary
    with RejectSink(rejects_path) as sink:
        batches = read_batches(data, config.columns)
        store = InMemoryStore(config.store)
        table, summary = collect_features(batches, store, sink, on_batch, strict=strict)
        write_table(to_arrow(table), output, raw_csv=raw_csv)
    return summary
