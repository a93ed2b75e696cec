"""A Redis state started by several processes at once is started once: one push, the others
wait for its manifest; a start that stopped halfway is cleared and done again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fraudcli.features.redis_url import connect, parse_redis_url
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.state.redis_state import open_store
from tests.helpers import T0, txn


def tables():
    store = InMemoryStore(StoreConfig())
    for i in range(300):
        store.observe(txn(i, T0 + 60.0 * i, f"u{i % 7}", merchant=f"m{i % 3}"))
    return store.snapshot()


def test_starting_together_pushes_once(redis_server):
    url = parse_redis_url(redis_server.unix_url + "?prefix=once:")
    initial = tables()
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: open_store(url, StoreConfig(), initial), range(4)))
    snapshot = stores[0].snapshot()
    assert snapshot["transactions"].num_rows == 300
    assert snapshot["user_entries"].num_rows == snapshot["merchant_entries"].num_rows == 300
    assert all(store.newest == T0 + 60.0 * 299 for store in stores)


def test_a_start_that_stopped_halfway_is_done_again(redis_server):
    url = parse_redis_url(redis_server.unix_url + "?prefix=half:")
    client = connect(url)
    client.set("half:ut:u0", "leftover")  # keys of a push that never wrote its manifest
    store = open_store(url, StoreConfig(), tables())
    assert not client.exists("half:init")
    assert store.snapshot()["user_entries"].num_rows == 300
    assert "leftover" not in client.get("half:ut:u0")
