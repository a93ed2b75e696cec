"""What a replay reads before its clock starts: the records (validated, rejects counted) and
the bundle's record path, warmed up (used by `replay.run` and by the workers of
`replay.workers`)."""

from __future__ import annotations

from pathlib import Path

from fraudcli.config.load import Config
from fraudcli.io.read import read_batches
from fraudcli.records.accounting import accepted
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.rejects import RejectSink
from fraudcli.records.schema import ColumnMap, Txn
from fraudcli.scoring.load import open_bundle
from fraudcli.state.keeper import StateOptions


def load_records(
    path: str | Path | None,
    columns: ColumnMap,
    rejects: RejectSink,
    limit: int | None = None,
    ids: IdRegistry | None = None,
) -> tuple[int, list[Txn]]:
    """(records read, valid transactions) of `path`; rejects go to `rejects`, and duplicates
    by the rule of `ids` (a fork of the store's registry: the run will admit them in this
    order). Reading stops once `limit` valid records are in hand."""
    read, records = 0, []
    for n_read, txns in accepted(read_batches(path, columns), rejects, ids=ids):
        read += n_read
        records.extend(txns)
        if limit is not None and len(records) >= limit:
            break
    return read, records


def bundle_pipeline(
    config: Config,
    model_dir: str | Path | None,
    fresh_state: bool,
    state_path: str | Path | None = None,
    state: StateOptions | None = None,
):
    """The record path of the bundle at `model_dir`, as `fraud score` builds it, continuing
    from the state at `state_path` when there is one (or the Redis state of `state`)."""
    redis = state.redis if state is not None else None
    overwrite = state.overwrite if state is not None else False
    opened = open_bundle(
        config, model_dir, fresh_state=fresh_state, state_path=state_path,
        redis=redis, overwrite_state=overwrite, command="replay",
    )  # fmt: skip
    # Arrow imports pandas the first time it builds an array from Python objects, as the id
    # registry does every 2,048 records: a third of a second, paid now, not on the clock; and
    # so are the stored keys and the registry's filter, which a store makes on first use
    import pandas  # noqa: F401

    pipeline = opened.pipeline
    pipeline.store.warm()
    return pipeline
