"""Where a run's state goes (`--state PATH`): the options, the lock that keeps two runs from
writing one state, and the checkpoints.

A run that writes a state holds an exclusive lock (`.NAME.fraud-state.lock` beside PATH) from
before it reads the state until its last write, so a second run on the same PATH is refused at
once instead of losing the first one's records. A checkpoint is one `stage_state` + commit; its
manifest says why it was written and how many of the run's records it covers.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from fraudcli.errors import UsageError
from fraudcli.features.redis_url import RedisURL, is_redis_url, parse_redis_url
from fraudcli.features.store import StoreConfig
from fraudcli.files import Staged
from fraudcli.ranges import DEFAULT_CHECKPOINT_SECONDS
from fraudcli.state.directory import is_state, stage_state

END, PERIODIC, STOPPED = "end of run", "periodic", "stopped"


@dataclass(frozen=True)
class StateOptions:
    """`--state PATH`, `--fresh-state`, `--overwrite-state`, `--checkpoint-every SECONDS`.
    A `--state` that is a redis://, rediss:// or unix:// URL is `redis` (and `path` None): a
    shared state, written transaction by transaction, not by a keeper."""

    path: Path | None = None
    fresh: bool = False
    overwrite: bool = False
    checkpoint_every: float = DEFAULT_CHECKPOINT_SECONDS
    redis: RedisURL | None = None

    def __post_init__(self) -> None:
        if is_redis_url(self.path):
            url = self.path if isinstance(self.path, RedisURL) else parse_redis_url(self.path)
            object.__setattr__(self, "redis", url)
            object.__setattr__(self, "path", None)
        elif isinstance(self.path, str):
            object.__setattr__(self, "path", Path(self.path))

    def check(self) -> None:
        """UsageError for what would lose a state by accident, or means nothing."""
        if not self.checkpoint_every > 0:
            raise UsageError("--checkpoint-every must be a positive number of seconds")
        if self.overwrite and not self.fresh:
            raise UsageError("--overwrite-state goes with --fresh-state")
        if self.path is not None and self.fresh and not self.overwrite and is_state(self.path):
            raise UsageError(
                f"--fresh-state would replace the state at {self.path}: add --overwrite-state "
                "to start it again, or leave out --fresh-state to continue it"
            )


class StateKeeper:
    """The state of a run at `path`: locked on creation, written by `save` or `stage`."""

    def __init__(self, path: Path, command: str, every: float = DEFAULT_CHECKPOINT_SECONDS) -> None:
        self.path, self.command, self.every = Path(path), command, every
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(self.path)
        self._last = time.monotonic()
        self.checkpoints = 0

    def due(self) -> bool:
        """A periodic checkpoint is due (`every` seconds since the last one)."""
        return time.monotonic() - self._last >= self.every

    def stage(
        self, tables: dict[str, pa.Table], store: StoreConfig, records: int, reason: str
    ) -> Staged:
        """The state written beside PATH, to be committed (`Staged.commit`) when its output is."""
        checkpoint = {"reason": reason, "command": self.command, "records": records}
        return stage_state(self.path, tables, store, checkpoint)

    def save(
        self, tables: dict[str, pa.Table], store: StoreConfig, records: int, reason: str
    ) -> None:
        staged = self.stage(tables, store, records, reason)
        try:
            staged.commit()
        except BaseException:
            staged.discard()
            raise
        self._last = time.monotonic()
        self.checkpoints += 1

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> StateKeeper:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _lock(path: Path) -> int:
    lock = path.with_name(f".{path.name}.fraud-state.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UsageError(f"the state {path} is in use by another run (it holds {lock})") from None
    return fd
