"""Atomicity on a real redis-server: several processes, not partitioned, hammer the same users
and merchants at once, and each also sends the same shared transactions. Afterwards every
count is the number of transactions applied (no update lost or doubled), and each shared
transaction was applied by exactly one of them."""

from __future__ import annotations

import multiprocessing
import random

from fraudcli.features.redis_store import RedisStore
from fraudcli.features.redis_url import connect, parse_redis_url
from fraudcli.features.spec import DAY, FEATURE_NAMES
from fraudcli.features.store import StoreConfig
from fraudcli.records.schema import Txn
from tests.helpers import T0
from tests.redis_server import RedisServer

WORKERS, OWN, SHARED = 4, 250, 60
USERS, MERCHANTS = ("u0", "u1", "u2"), ("m0", "m1")
CONFIG = StoreConfig(label_delay=DAY)
PREFIX = "race:"


def transactions(worker: int) -> list[Txn]:
    """This worker's own transactions and the shared ones, shuffled by its seed; all within
    the same hour, so every one is in every window of the lookups below."""
    rng = random.Random(worker)
    own = [_txn(f"w{worker}-{i}", rng) for i in range(OWN)]
    shared = [_txn(f"shared-{j}", random.Random(1000 + j)) for j in range(SHARED)]
    out = own + shared
    rng.shuffle(out)
    return out


def _txn(tid: str, rng: random.Random) -> Txn:
    ts = T0 + rng.randrange(3000)
    user, merchant = rng.choice(USERS), rng.choice(MERCHANTS)
    amount, fraud = rng.randrange(1, 10_000) / 100, int(rng.random() < 0.2)
    return Txn(tid, float(ts), user, amount, merchant, None, "US", None, None, "d", None, fraud)


def hammer(url: str, worker: int, start, results) -> None:
    """One process: its transactions in pipelined batches of 1 to 16, as fast as it can."""
    store = RedisStore(connect(parse_redis_url(url)), CONFIG, prefix=PREFIX)
    store.warm()
    txns, rng, applied, i = transactions(worker), random.Random(worker), [], 0
    start.wait()
    while i < len(txns):
        batch = txns[i : i + rng.randint(1, 16)]
        answers = store.observe_many(batch)
        applied += [t.transaction_id for t, a in zip(batch, answers, strict=True) if a]
        i += len(batch)
    results.put((worker, applied))


def test_processes_racing_on_the_same_keys_lose_and_double_nothing(redis_binary):
    context = multiprocessing.get_context("spawn")
    with RedisServer(redis_binary) as server:
        start, results = context.Barrier(WORKERS), context.Queue()
        processes = [
            context.Process(target=hammer, args=(server.unix_url, k, start, results))
            for k in range(WORKERS)
        ]
        for process in processes:
            process.start()
        applied = dict(results.get(timeout=120) for _ in processes)
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        store = RedisStore(connect(parse_redis_url(server.unix_url)), CONFIG, prefix=PREFIX)
        check(store, applied)


def check(store: RedisStore, applied: dict[int, list[str]]) -> None:
    every = {t.transaction_id: t for k in range(WORKERS) for t in transactions(k)}
    for k in range(WORKERS):  # its own transactions all applied, by it
        assert {t for t in applied[k] if t.startswith(f"w{k}-")} == {
            f"w{k}-{i}" for i in range(OWN)
        }
    shared = [t for k in range(WORKERS) for t in applied[k] if t.startswith("shared-")]
    assert sorted(shared) == sorted(f"shared-{j}" for j in range(SHARED))  # once each
    tables = store.snapshot()
    assert tables["transactions"].num_rows == WORKERS * OWN + SHARED == len(every)
    assert tables["user_entries"].num_rows == tables["merchant_entries"].num_rows == len(every)
    end = T0 + 3000.0  # after every transaction, within an hour of each
    index = {name: FEATURE_NAMES.index(name) for name in FEATURE_NAMES}
    for user in USERS:
        mine = [t for t in every.values() if t.user_id == user]
        features = store.lookup(Txn("probe", end, user, 1.0))
        assert features[index["user_txn_count_1h"]] == len(mine)
        mean = sum(t.amount for t in mine) / len(mine)
        assert abs(features[index["user_amount_mean_24h"]] - mean) < 1e-9 * mean
    for merchant in MERCHANTS:
        theirs = [t for t in every.values() if t.merchant_id == merchant]
        features = store.lookup(Txn("probe", end + CONFIG.label_delay, "x", 1.0, merchant))
        assert features[index["merchant_txn_count_1d"]] == len(theirs)
        frauds = sum(t.is_fraud for t in theirs) / len(theirs)
        assert abs(features[index["merchant_fraud_rate_1d"]] - frauds) < 1e-12
