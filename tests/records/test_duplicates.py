"""`BlockDuplicates` rejects what `RecordDuplicates` rejects, row for row, with the same raw text,
and both carry the registry's merchants and labels along."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fraudcli.records.columns import block_of_items
from fraudcli.records.duplicates import BlockDuplicates, RecordDuplicates
from fraudcli.records.id_registry import IdRegistry
from fraudcli.records.schema import Txn


def _items(rng: np.random.Generator, first: int, n: int) -> list:
    items = []
    for line in range(first, first + n):
        tid = f"t{int(rng.integers(0, 25))}"
        ts = float(1.7e9 + int(rng.integers(0, 50)) * 3600)
        merchant = None if rng.random() < 0.3 else f"m{int(rng.integers(0, 3))}"
        label = [None, 0, 1][int(rng.integers(0, 3))]
        txn = Txn(tid, ts, "u", 5.0, merchant_id=merchant, is_fraud=label)
        raw = json.dumps({"transaction_id": tid, "line": line})
        items.append((line, raw, txn))
    return items


@pytest.mark.parametrize("seed", range(12))
def test_blocks_reject_what_records_reject(seed: int) -> None:
    rng = np.random.default_rng(seed)
    window = [0.0, 5 * 3600.0, 20 * 3600.0, np.inf][seed % 4]
    by_record, by_block = RecordDuplicates(IdRegistry(window)), BlockDuplicates(IdRegistry(window))
    first = 1
    for _ in range(6):
        items = _items(rng, first, int(rng.integers(0, 30)))
        first += len(items)
        want = [by_record.check(line, raw, txn) for line, raw, txn in items]
        keep, rejects = by_block.keep(block_of_items(items))
        kept = [True] * len(items) if keep is None else keep.tolist()
        assert kept == [isinstance(w, Txn) for w in want]
        assert rejects == [w for w in want if not isinstance(w, Txn)]
    assert by_block.ids.table().equals(by_record.ids.table())
