"""The state a Dask run continues from (a bundle's or a `--state` directory's snapshot tables,
`fraudcli.features.snapshot`) as frames that join the input's rows in the shuffles, so each key's
stored entries reach the partition holding its rows (`kind` tells them from the input's):

    users      ENTRY rows (`user_entries`) then LAST rows (`user_last`: prev_ts in `ts`, the
               previous location in `lat`, `lon`, `loc_ts`), `seq` their place in that order
    merchants  ENTRY rows (`merchant_entries`) then CHANGE rows (`label_changes`: the entry's
               `ts`, the arrival in `loc_ts`, new - old in `label`)
    ids        the id registry (`transactions`), `seq` negative: accepted before every row
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from fraudcli.engines.dask.sides import CHANGE, ENTRY, LAST, USER_KEYS


def stored_newest(tables: dict[str, pa.Table] | None) -> float:
    """The state's newest event time (N of the duplicate rule before the first row)."""
    if tables is None:
        return -math.inf
    from fraudcli.features.snapshot import snapshot_end

    return snapshot_end(tables)


def stored_ids(tables: dict[str, pa.Table] | None) -> pd.DataFrame | None:
    """The state's accepted ids (transaction_id, seq, ts), in acceptance order, seq < 0."""
    table = None if tables is None else tables.get("transactions")
    if table is None or not table.num_rows:
        return None
    from fraudcli.engines.dask.partition import STRING

    n = table.num_rows
    return pd.DataFrame(
        {
            "transaction_id": pd.array(table["transaction_id"].to_pylist(), dtype=STRING),
            "seq": np.arange(-n, 0, dtype=np.int64),
            "ts": table["ts"].to_numpy().astype(np.float64),
        }
    )


def stored_users(tables: dict[str, pa.Table] | None) -> pd.DataFrame | None:
    if tables is None:
        return None
    from fraudcli.engines.dask.partition import STRING

    entries, last = tables["user_entries"], tables["user_last"]
    e = entries.to_pandas(types_mapper={pa.string(): STRING}.get)
    e = e.assign(seq=np.arange(len(e), dtype=np.int64), kind=np.int8(ENTRY), lat=np.nan,
                 lon=np.nan, loc_ts=np.nan)  # fmt: skip
    lt = last.to_pandas(types_mapper={pa.string(): STRING}.get)
    lt = pd.DataFrame(
        {
            "seq": np.arange(len(e), len(e) + len(lt), dtype=np.int64),
            "kind": np.int8(LAST),
            "ts": lt["prev_ts"].astype(np.float64),
            "amount": np.nan,
            "lat": lt["loc_lat"].astype(np.float64),
            "lon": lt["loc_lon"].astype(np.float64),
            "loc_ts": lt["loc_ts"].astype(np.float64),
            "user_id": lt["user_id"],
        }
    )
    frame = pd.concat([e, lt], ignore_index=True)
    for name in ("merchant_id", "country", "device_id", "user_id"):
        frame[name] = frame[name].astype(STRING)
    return frame[[*USER_KEYS, "kind", "loc_ts"]]


def stored_merchants(tables: dict[str, pa.Table] | None) -> pd.DataFrame | None:
    if tables is None:
        return None
    from fraudcli.engines.dask.partition import STRING

    entries = tables["merchant_entries"]
    changes = tables.get("label_changes")
    n, m = entries.num_rows, 0 if changes is None else changes.num_rows
    frame = pd.DataFrame(
        {
            "seq": np.arange(n, dtype=np.int64),
            "ts": entries["ts"].to_numpy(),
            "label": entries["is_fraud"].to_numpy(zero_copy_only=False).astype(np.int8),
            "merchant_id": pd.array(entries["merchant_id"].to_pylist(), dtype=STRING),
            "kind": np.int8(ENTRY),
            "loc_ts": np.nan,
        }
    )
    if not m:
        return frame
    arrival = changes["arrival"].cast(pa.float64()).fill_null(np.nan).to_numpy()
    later = pd.DataFrame(
        {
            "seq": np.arange(n, n + m, dtype=np.int64),
            "ts": changes["ts"].to_numpy().astype(np.float64),
            "label": changes["change"].to_numpy().astype(np.int8),
            "merchant_id": pd.array(changes["merchant_id"].to_pylist(), dtype=STRING),
            "kind": np.int8(CHANGE),
            "loc_ts": arrival,
        }
    )
    return pd.concat([frame, later], ignore_index=True)
