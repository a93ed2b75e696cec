"""A block of valid records as Arrow columns: what the readers of the column path yield."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from fraudcli.rejects import Reject


@dataclass
class ValidBlock:
    """`n_read` records read: the valid ones as columns, the others as `rejects` (in order).

    `data` holds the valid records' fields, all of one length: transaction_id, user_id,
    merchant_id, merchant_category, country, device_id, channel (string); amount, lat, lon
    (float64); ts (float64 epoch seconds, `Txn.ts`); ts_text (string, `Txn.ts_text`); is_fraud
    (int8). Null is None. `lines` are their line (row) numbers; `extras` their `Txn.extras`
    where a record has its own; `passthrough` input fields outside the schema common to the
    other records (Parquet columns, JSONL keys on most lines), one value per valid record,
    which a record listed in `extras` does not take (its own extras are all it has).
    """

    n_read: int
    lines: np.ndarray
    data: dict[str, pa.Array]
    extras: dict[int, dict]
    rejects: list[Reject]
    passthrough: dict[str, pa.Array] = field(default_factory=dict)
