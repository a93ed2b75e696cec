"""A feature state in Redis (`--state redis://...`): opened for a run, started the first time
from the bundle's state, refused when written for other features or store settings.

Under the URL's prefix, beside the store's keys (`fraudcli.features.redis_store`), a hash
`manifest` says what the state is: format, schema version, feature names, store settings
(label delay, lateness, dedupe window), and when and by what it was started. It is written
last when a state is started (pushed), so a state without one is empty or a push that did not
finish: the next run clears it and starts again. Starting takes a lock (`init`, with a time to
live), so processes that start together push once; the others wait for the manifest.

Unlike a directory, a Redis state is not written at the end of a run: each transaction is
applied (atomically) as it is decided, and several processes can share it.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pyarrow as pa

from fraudcli.errors import StateError, UsageError
from fraudcli.features.redis_store import RedisStore
from fraudcli.features.redis_tables import keys_under
from fraudcli.features.redis_url import RedisURL, connect, unavailable
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import StoreConfig

FORMAT = "fraudcli-redis-state"
SCHEMA_VERSION = "1"
START_SECONDS = 600.0  # how long a start (a push) may hold the lock; others wait that long


def open_store(
    url: RedisURL,
    store: StoreConfig,
    initial: dict[str, pa.Table] | None,
    *,
    fresh: bool = False,
    overwrite: bool = False,
    command: str = "score",
) -> RedisStore:
    """The store at `url`, for a run that writes it: as it is (its manifest checked against
    `store`), or, when there is none yet, started from `initial` (the bundle's state; None or
    `fresh`: empty). `fresh` over an existing state is a UsageError unless `overwrite`."""
    client = connect(url)
    redis = RedisStore(client, store, prefix=url.prefix, ttl=url.ttl, where=url)
    manifest = _guarded(url, lambda: client.hgetall(url.prefix + "manifest"))
    if manifest and fresh and not overwrite:
        raise UsageError(
            f"--fresh-state would replace the state at {url}: add --overwrite-state to start it "
            "again, or leave out --fresh-state to continue it"
        )
    if manifest and not fresh:
        check_manifest(manifest, url, store)
        return redis
    start(redis, url, store, None if fresh else initial, command, replace=bool(manifest))
    return redis


def start(
    redis: RedisStore,
    url: RedisURL,
    store: StoreConfig,
    tables: dict[str, pa.Table] | None,
    command: str,
    *,
    replace: bool = False,
    progress=None,
) -> None:
    """Start the state at `url` from `tables` (None: empty) once, whoever else tries at the
    same time; `replace`: clear what is there first (else only an unfinished start is)."""
    client, prefix, token = redis.client, url.prefix, uuid.uuid4().hex
    lock = prefix + "init"
    if not _guarded(url, lambda: client.set(lock, token, nx=True, px=int(START_SECONDS * 1000))):
        _wait_for_manifest(client, url, store)
        return
    try:
        manifest = _guarded(url, lambda: client.hgetall(prefix + "manifest"))
        if manifest and not replace:  # someone else started it just before us
            check_manifest(manifest, url, store)
            return
        _guarded(url, lambda: clear(client, prefix, keep=lock))
        if tables is not None:
            redis.push(tables, progress)
        fields = manifest_of(store, command)
        _guarded(url, lambda: client.hset(prefix + "manifest", mapping=fields))
    finally:
        if _guarded(url, lambda: client.get(lock)) == token:
            _guarded(url, lambda: client.delete(lock))


def read_manifest(url: RedisURL) -> tuple[RedisStore, dict] | None:
    """(the store, its manifest) at `url` for reading, or None when it holds no state; its
    store settings are the manifest's."""
    client = connect(url)
    manifest = _guarded(url, lambda: client.hgetall(url.prefix + "manifest"))
    if not manifest:
        client.close()
        return None
    _check_format(manifest, url)
    store = _store_of(manifest, url)
    return RedisStore(client, store, prefix=url.prefix, ttl=url.ttl, where=url), manifest


def read_tables(url: RedisURL, store: StoreConfig) -> dict[str, pa.Table] | None:
    """The snapshot tables of the state at `url`, checked for `store` (read only: `evaluate`
    and `drift-report`); None when there is no state there (they start from the bundle's)."""
    found = read_manifest(url)
    if found is None:
        return None
    redis, manifest = found
    check_manifest(manifest, url, store)
    return redis.snapshot()


def manifest_of(store: StoreConfig, command: str) -> dict[str, str]:
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "feature_names": json.dumps(list(FEATURE_NAMES)),
        "store": json.dumps(store.to_dict(), sort_keys=True),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
    }


def check_manifest(manifest: dict, url: RedisURL, store: StoreConfig) -> None:
    """StateError (exit 4) unless the state was written for these features and settings."""
    _check_format(manifest, url)
    if manifest.get("feature_names") != json.dumps(list(FEATURE_NAMES)):
        raise StateError(
            f"state {url} was written for other features than this fraudcli computes: start a "
            "new one with --fresh-state --overwrite-state (or another ?prefix=)"
        )
    theirs = _store_of(manifest, url)
    if theirs.to_dict() != store.to_dict():
        raise StateError(
            f"state {url} was written with other store settings ({_settings(theirs)}) than the "
            f"model's ({_settings(store)}): its windows and labels would mean something else; "
            "start it again with --fresh-state --overwrite-state, or use the model it was "
            "written with"
        )


def clear(client, prefix: str, keep: str | None = None) -> int:
    """Delete every key under `prefix` (but `keep`); how many. The prefix is never empty
    (`parse_redis_url`), so nothing else in the database goes."""
    keys = [prefix + rest for rest in keys_under(client, prefix) if prefix + rest != keep]
    for start_at in range(0, len(keys), 512):
        client.unlink(*keys[start_at : start_at + 512])
    return len(keys)


def _check_format(manifest: dict, url: RedisURL) -> None:
    if manifest.get("format") != FORMAT:
        raise StateError(f"{url} holds something else than a fraud state under its prefix")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise StateError(
            f"state {url} has schema version {manifest.get('schema_version')}, this fraudcli "
            f"reads {SCHEMA_VERSION}"
        )


def _store_of(manifest: dict, url: RedisURL) -> StoreConfig:
    try:
        return StoreConfig(**json.loads(manifest["store"]))
    except (KeyError, TypeError, ValueError):
        raise StateError(f"state {url}: its manifest has no readable store settings") from None


def _settings(store: StoreConfig) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(store.to_dict().items()))


def _wait_for_manifest(client, url: RedisURL, store: StoreConfig) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        manifest = _guarded(url, lambda: client.hgetall(url.prefix + "manifest"))
        if manifest:
            check_manifest(manifest, url, store)
            return
        if not _guarded(url, lambda: client.exists(url.prefix + "init")):
            raise StateError(f"state {url}: another process began to start it and stopped")
        time.sleep(0.05)
    raise StateError(f"state {url}: another process has been starting it for too long")


def _guarded(url: RedisURL, call):
    from redis.exceptions import RedisError

    try:
        return call()
    except RedisError as exc:
        raise unavailable(url, exc) from None
