"""`fraud state push SOURCE redis://...` and `fraud state pull redis://... DIR`: a bundle's or
a state directory's state copied into Redis (pipelined), and a Redis state copied back into a
state directory (written as every directory state is: whole, then swapped into place).

A pull reads the keys one after another: a state that other processes are writing meanwhile
comes back as a mix of moments; pull a state nobody writes for an exact copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from fraudcli.bundle.model_bundle import load_bundle
from fraudcli.errors import StateError, UsageError
from fraudcli.features.redis_store import RedisStore
from fraudcli.features.redis_url import connect, parse_redis_url
from fraudcli.features.store import StoreConfig
from fraudcli.state.directory import counts, is_state, read_state
from fraudcli.state.keeper import StateKeeper
from fraudcli.state.redis_state import read_manifest, start

Progress = Callable[[int], AbstractContextManager[Callable[[int], None]]]
PULLED = "pulled"


@dataclass(frozen=True)
class Synced:
    """What a push or a pull copied: from where to where, how many rows, how long."""

    source: str
    target: str
    rows: int
    counts: dict[str, int]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "target": self.target,
            "rows": self.rows,
            **self.counts,
            "seconds": round(self.seconds, 3),
        }


def push_state(
    source: Path, target: str, *, overwrite: bool = False, progress: Progress | None = None
) -> Synced:
    """Copy the state of `source` (a state directory, else a model bundle) into the Redis
    state at `target`, which must hold none unless `overwrite`. `progress(total)` makes the
    bar that is told of the rows as they are written."""
    started = time.perf_counter()
    url = parse_redis_url(target)
    tables, store = _source(source)
    redis = RedisStore(connect(url), store, prefix=url.prefix, ttl=url.ttl, where=url)
    if read_manifest(url) is not None and not overwrite:
        raise UsageError(f"{url} already holds a state: add --overwrite to replace it")
    total = sum(t.num_rows for t in tables.values())
    with (progress or _no_bar)(total) as advance:
        start(redis, url, store, tables, "state push", replace=True, progress=advance)
    return Synced(str(source), str(url), total, counts(tables), time.perf_counter() - started)


def pull_state(source: str, target: Path, *, overwrite: bool = False) -> Synced:
    """Copy the Redis state at `source` into the state directory `target` (written whole,
    then swapped in; an existing state there is replaced only with `overwrite`)."""
    started = time.perf_counter()
    url = parse_redis_url(source)
    found = read_manifest(url)
    if found is None:
        raise StateError(f"no fraud state at {url} (no manifest under its prefix)")
    redis, _ = found
    if is_state(target) and not overwrite:
        raise UsageError(f"{target} already holds a state: add --overwrite to replace it")
    with StateKeeper(target, "state pull") as keeper:
        tables = redis.snapshot()
        keeper.save(tables, redis.config, 0, PULLED)
    total = sum(t.num_rows for t in tables.values())
    return Synced(str(url), str(target), total, counts(tables), time.perf_counter() - started)


def is_bundle(source: Path) -> bool:
    """Whether `source` is a model bundle's directory (else a state directory is expected)."""
    return (Path(source) / "model.json").is_file()


def _source(source: Path) -> tuple[dict[str, pa.Table], StoreConfig]:
    if is_bundle(source):
        bundle = load_bundle(source)
        return bundle.state, StoreConfig(**bundle.store)
    state = read_state(source)
    return state.tables, StoreConfig(**state.manifest["store"])


def _no_bar(total: int) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda rows: None)
