"""The Redis feature store (fraudcli.features.redis_store) against the embedded one: what one
client process pays per transaction.

A simulated world's first PRELOAD transactions go through the embedded store, whose snapshot
is pushed into a redis-server of the bench's own (started like the tests' servers: persistence
off; a Unix socket and a loopback TCP port). Then each way of calling decides the next SLICE
transactions of the same stream, in order (duplicate check, lookup and update, as `observe`):
the embedded store, and Redis over the Unix socket and over TCP with K = 1, 32, 256
transactions per round trip (`observe_many`). Printed per transaction: wall time, the
client's CPU, and the server's CPU (INFO commandstats: EVALSHA's usec, over the transactions).

    python -m bench redis_store
    python -m bench.bench_redis_store --preload 200000 --slice 4000
"""

from __future__ import annotations

import argparse
import sys
import time

from bench import common

KS = (1, 32, 256)
PRELOAD, SLICE = 100_000, 3_000


def simulated_txns(n: int) -> list:
    from fraudcli.records.schema import Txn
    from fraudcli.simulation.simulate import simulate

    rows = simulate(n, seed=common.SEED, start="2026-01-01", days=n / 200_000 * 60).to_pylist()
    txns = [
        Txn(
            r["transaction_id"], r["timestamp"].timestamp(), r["user_id"], r["amount"],
            r["merchant_id"], r["merchant_category"], r["country"], r["lat"], r["lon"],
            r["device_id"], r["channel"], r["is_fraud"],
        )
        for r in rows
    ]  # fmt: skip
    txns.sort(key=lambda t: t.ts)
    return txns


def embedded_cost(store, txns) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    for txn in txns:
        store.observe(txn)
    return {
        "wall": (time.perf_counter() - started) / len(txns),
        "client": (time.process_time() - cpu) / len(txns),
    }


def redis_cost(store, txns, k: int) -> dict:
    client = store.client
    client.config_resetstat()
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(txns), k):
        store.observe_many(txns[i : i + k])
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    server = client.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0.0)
    # (a script call decides up to 32 transactions: the server's time over all of them)
    return {
        "wall": wall / len(txns),
        "client": used / len(txns),
        "server": server / 1e6 / len(txns),
    }


def run(preload: int = PRELOAD, size: int = SLICE) -> None:
    from fraudcli.features.redis_store import RedisStore
    from fraudcli.features.redis_url import connect, parse_redis_url
    from fraudcli.features.store import InMemoryStore, StoreConfig
    from tests.redis_server import HOW_TO_GET_REDIS, RedisServer, find_redis_server

    binary = find_redis_server()
    if binary is None:
        print(f"  skipped: {HOW_TO_GET_REDIS}")
        return
    n_slices = 1 + 2 * len(KS)
    txns = simulated_txns(preload + n_slices * size)
    embedded = InMemoryStore(StoreConfig())
    for txn in txns[:preload]:
        embedded.observe(txn)
    slices = [txns[preload + i * size : preload + (i + 1) * size] for i in range(n_slices)]
    with RedisServer(binary, tcp=True) as server:
        urls = {"unix": server.unix_url, "tcp": f"redis://127.0.0.1:{server.port}/0"}
        stores = {
            over: RedisStore(connect(parse_redis_url(url)), embedded.config, where=over)
            for over, url in urls.items()
        }
        with common.timed() as push:
            stores["unix"].push(embedded.snapshot())
        what = f"push of the state after {preload:,} transactions"
        common.figure(what, f"{push['seconds']:.2f} s")
        for store in stores.values():
            store.warm()
        rows = [("embedded", embedded_cost(embedded, slices[0]))]
        stores["unix"].observe_many(slices[0])  # (Redis kept in step, untimed)
        at = 1
        for over in ("unix", "tcp"):
            for k in KS:
                # (the embedded store is kept in step: it decides the same slice, untimed)
                rows.append((f"redis {over}, K={k}", redis_cost(stores[over], slices[at], k)))
                for txn in slices[at]:
                    embedded.observe(txn)
                at += 1
    base = rows[0][1]["wall"]
    head = ("wall", "client CPU", "server CPU", "x embedded")
    print(f"  {'per transaction (us)':<28}{head[0]:>9}" + "".join(f"{h:>12}" for h in head[1:]))
    for name, cost in rows:
        server = f"{cost['server'] * 1e6:.1f}" if "server" in cost else "-"
        print(
            f"  {name:<28}{cost['wall'] * 1e6:>9.1f}{cost['client'] * 1e6:>12.1f}"
            f"{server:>12}{cost['wall'] / base:>12.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preload", type=int, default=PRELOAD)
    parser.add_argument("--slice", type=int, default=SLICE)
    args = parser.parse_args(sys.argv[1:])
    run(args.preload, args.slice)
