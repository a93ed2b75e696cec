"""Feature-store memory: bytes per user and per merchant after the sample's 60 days.

tracemalloc measures what the state retains while records stream through (each record is
garbage once processed). Merchant state is the difference with a run where no record has a
merchant.
"""

from __future__ import annotations

import dataclasses
import gc
import tracemalloc

from bench.common import figure


def _retained(strip_merchant: bool):
    from fraudcli.features.store import InMemoryStore
    from fraudcli.io.read import read_batches
    from fraudcli.records.schema import Txn
    from fraudcli.samples import TRAIN, sample_path

    gc.collect()
    tracemalloc.start()
    store = InMemoryStore()
    for batch in read_batches(sample_path(TRAIN)):
        for _, _, txn in batch:
            if isinstance(txn, Txn):
                store.update(dataclasses.replace(txn, merchant_id=None) if strip_merchant else txn)
        del batch
    gc.collect()
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return store, used


def run() -> None:
    store, total = _retained(strip_merchant=False)
    _, users_only = _retained(strip_merchant=True)
    users, merchants = len(store.users), len(store.merchants)
    user_entries = sum(len(u.ts) for u in store.users.values())
    merchant_entries = sum(len(m.ts) for m in store.merchants.values())
    merchant_bytes = total - users_only
    figure("state after 200,000 txns over 60 days", f"{total / 2**20:.1f} MiB")
    figure(
        f"  per user ({users:,} users, {user_entries / users:.0f} entries each)",
        f"{users_only / users:,.0f} B",
    )
    figure(
        f"  per merchant ({merchants:,}, {merchant_entries / merchants:.0f} entries each)",
        f"{merchant_bytes / merchants:,.0f} B",
    )
    figure(
        "  per entry (user / merchant)",
        f"{users_only / user_entries:.0f} / {merchant_bytes / merchant_entries:.0f} B",
    )
