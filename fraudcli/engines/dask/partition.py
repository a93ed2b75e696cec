"""One input partition read as the embedded path reads it: its valid rows as `ValidBlock`s
(the column path's blocks, row numbers counting on from the partition's first), its rejects,
and the key columns the shuffles need, as a pandas frame with each row's sequence number.

Every stage that needs a partition's rows reads it again (`blocks`): reading and checking
Parquet costs less than holding a dataset larger than the cluster's memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.engines.dask.plan import InputPart
from fraudcli.io.parquet import blocks_of, file_record_batches
from fraudcli.records.columns import ValidBlock
from fraudcli.records.rejects import Reject
from fraudcli.records.schema import ColumnMap

BATCH_ROWS = 1 << 18  # the column path's Parquet block (`fraudcli.io.blocks.PARQUET_ROWS`)
NO_LABEL = "missing label 'is_fraud' (needed to train)"  # as `fraudcli.commands.train`
STRING = pd.StringDtype("pyarrow")
KEYS = {
    "seq": np.int64,
    "transaction_id": STRING,
    "ts": np.float64,
    "amount": np.float64,
    "label": np.int8,
    "lat": np.float64,
    "lon": np.float64,
    "user_id": STRING,
    "merchant_id": STRING,
    "country": STRING,
    "device_id": STRING,
}


def blocks(part: InputPart, columns: ColumnMap, need_labels: bool) -> Iterator[ValidBlock]:
    """The partition's blocks of valid rows (rejects inside each block), in input order; with
    `need_labels`, a row without `is_fraud` is a reject, as training makes it."""
    batches = file_record_batches(Path(part.path), BATCH_ROWS, list(part.row_groups))
    for block in blocks_of(batches, columns, part.first + 1):
        yield labelled(block) if need_labels else block


def labelled(block: ValidBlock) -> ValidBlock:
    """`block` with its unlabelled rows made rejects (in line order among the others)."""
    missing = block.data["is_fraud"].is_null().to_numpy(zero_copy_only=False)
    if not missing.any():
        return block
    keep = ~missing
    extra = [Reject(int(line), NO_LABEL, "") for line in block.lines[missing].tolist()]
    return replace(
        block,
        lines=block.lines[keep],
        data={k: v.filter(pa.array(keep)) for k, v in block.data.items()},
        extras=kept_extras(block.extras, keep),
        rejects=sorted([*block.rejects, *extra], key=lambda r: r.line),
        passthrough={k: v.filter(pa.array(keep)) for k, v in block.passthrough.items()},
    )


def kept_extras(extras: dict[int, dict], keep: np.ndarray) -> dict[int, dict]:
    """`ValidBlock.extras` of the rows kept, renumbered."""
    new_index = np.cumsum(keep) - 1
    return {int(new_index[i]): e for i, e in extras.items() if keep[i]}


def keys_frame(part: InputPart, mapping: ColumnMap, need_labels: bool) -> pd.DataFrame:
    """The key columns of the partition's valid rows (KEYS), `seq` their sequence numbers.
    (A parameter named `columns` would be taken by `dask.dataframe.from_map` for its own.)"""
    tables = [_keys(block) for block in blocks(part, mapping, need_labels)]
    if not tables:
        return empty_keys()
    return _frame(pa.concat_tables(tables))


def _keys(block: ValidBlock) -> pa.Table:
    data = block.data
    label = pc.fill_null(data["is_fraud"], 0).cast(pa.int8())
    return pa.table(
        {
            "seq": pa.array(block.lines - 1, pa.int64()),
            "transaction_id": data["transaction_id"],
            "ts": data["ts"],
            "amount": data["amount"],
            "label": label,
            "lat": pc.fill_null(data["lat"], np.nan),
            "lon": pc.fill_null(data["lon"], np.nan),
            **{name: data[name] for name in ("user_id", "merchant_id", "country", "device_id")},
        }
    )


def _frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper={pa.string(): STRING}.get)
    return frame.astype(KEYS)


def empty_keys() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=kind) for name, kind in KEYS.items()})


def arrow_columns(frame: pd.DataFrame, names) -> dict[str, pa.Array]:
    """Columns of a frame as Arrow arrays (strings with their nulls)."""
    return {name: pa.array(frame[name]) for name in names}
