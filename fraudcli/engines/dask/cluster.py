"""Where the Dask engine runs: a scheduler given by address, or a LocalCluster sized to this
machine (one single-threaded worker process per core, the memory shared among them).

Dask is an extra (`pip install 'fraudcli[dask]'`), imported here on first use only, so
`fraud --help` and the embedded path never load it. Workers exchange tasks and data with
Dask's own protocol (pickle): point `--scheduler` at a cluster you trust, as you would give it
your data.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fraudcli.errors import FraudError, UsageError

EXTRA = "pip install 'fraudcli[dask]'"
PARTITION_ROWS = 1 << 20  # rows per input partition (whole Parquet row groups)
# rows per step of the kernels on a shuffled partition: a step's arrays cost 400-800 bytes a
# row, so a partition larger than this (a hot key's) is stepped through this many rows at a
# time, in input order. A partition within it is one step, whose features are the embedded
# run's to the bit; steps sum a key's windows in other pieces (the same to about 1e-10)
SIDE_ROWS = 1 << 20
QUIET = {"logging.distributed": "error", "distributed.admin.system-monitor.gil.enabled": False}
# The LocalCluster's workers do not pause at 80% of their memory: a worker paused by memory it
# cannot spill (its imports and Arrow's pools are a few hundred MB) never resumes, and a run
# whose workers are all paused waits for ever without a word. Unpaused, a worker that needs
# more than its limit is restarted at 95% and the run fails, saying so (`_worker_deaths`).
LOCAL = {"distributed.worker.memory.pause": False}


@dataclass(frozen=True)
class DaskOptions:
    """`scheduler`: the address of a running scheduler (`tcp://host:8786`); None starts a
    LocalCluster of `workers` worker processes (default: the machine's cores) with
    `memory_limit` each (a size such as "3GB"; default: the machine's memory shared out).
    `processes=False` makes the LocalCluster's workers threads of this process (tests).
    `partition_rows`, `side_rows`: see PARTITION_ROWS, SIDE_ROWS (smaller in tests)."""

    scheduler: str | None = None
    workers: int | None = None
    memory_limit: str | None = None
    processes: bool = True
    partition_rows: int = PARTITION_ROWS
    side_rows: int = SIDE_ROWS


def require_dask() -> None:
    """UsageError naming the extra when dask or distributed is not installed."""
    missing = [m for m in ("dask", "distributed", "pandas") if importlib.util.find_spec(m) is None]
    if not missing and importlib.util.find_spec("dask.dataframe") is not None:
        try:
            import dask.dataframe  # noqa: F401 - fails without its own dependencies
            import distributed  # noqa: F401
        except ImportError as exc:
            missing = [str(exc)]
    if missing:
        raise UsageError(f"--engine dask needs the dask extra ({', '.join(missing)}): {EXTRA}")


def check_memory_limit(text: str | None) -> str | None:
    """A worker memory limit Dask understands ("3GB", "500MiB"), or UsageError."""
    if text is None:
        return None
    from dask.utils import parse_bytes

    try:
        value = parse_bytes(text)
    except (ValueError, TypeError):
        raise UsageError(f"--memory-limit must be a size such as 3GB, got {text!r}") from None
    if value < 1 << 27:
        raise UsageError(f"--memory-limit must be at least 128MiB, got {text!r}")
    return text


@contextmanager
def connected(options: DaskOptions) -> Iterator[Any]:
    """A `distributed.Client` for the run, closed (and its LocalCluster stopped) after."""
    require_dask()
    import dask
    from distributed import Client

    logging.getLogger("distributed").setLevel(logging.ERROR)
    with dask.config.set(QUIET):
        if options.scheduler is not None:
            try:
                client = Client(options.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise FraudError(
                    f"cannot reach the Dask scheduler {options.scheduler}: {exc}"
                ) from None
            with client, _worker_deaths(options):
                yield client
            return
        with (
            dask.config.set(LOCAL),
            _local_cluster(options) as cluster,
            Client(cluster) as client,
            _worker_deaths(options),
        ):
            yield client


@contextmanager
def _worker_deaths(options: DaskOptions) -> Iterator[None]:
    """A task whose workers all died (Dask's KilledWorker) as a FraudError that says why it
    most likely happened: the worker ran out of memory."""
    from distributed import KilledWorker

    try:
        yield
    except KilledWorker as exc:
        if options.scheduler is not None:
            each = "your cluster's limit"
        else:
            each = options.memory_limit or "the machine's memory shared out"
        raise FraudError(
            f"Dask workers died {exc.allowed_failures + 1} times running the same task "
            f"({_task_name(exc.task)}), most likely out of memory (each worker: {each}): give "
            "each worker more memory (--memory-limit, fewer --dask-workers); one user or "
            "merchant with more rows than a worker can hold is not split (README, limitations)"
        ) from None


def _task_name(key: Any) -> str:
    name = key[0] if isinstance(key, tuple) and key else key
    return str(name).rsplit("-", 1)[0] if isinstance(name, str) else str(name)


@contextmanager
def _local_cluster(options: DaskOptions) -> Iterator[Any]:
    from distributed import LocalCluster

    workers = options.workers or os.cpu_count() or 1
    with _quiet_workers():  # (for the cluster's life: a worker restarted after it too)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=options.processes,
            memory_limit=check_memory_limit(options.memory_limit) or "auto",
            dashboard_address=":0",  # a free port: the scheduler serves HTTP even without one
        )
        try:
            yield cluster
        finally:
            cluster.close()


@contextmanager
def _quiet_workers() -> Iterator[None]:
    """Worker processes started meanwhile log distributed's errors only. A worker configures
    its logging when it imports distributed, before it applies the `env` a LocalCluster
    passes it, so the variable must be in the environment it is started with: without it
    each worker writes distributed's warnings ("Unmanaged memory use is high ...", a few a
    minute at a large run's peaks) on stderr."""
    name = "DASK_LOGGING__DISTRIBUTED"
    before = os.environ.get(name)
    os.environ[name] = "error"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def dashboard_link(client: Any, local: bool) -> str | None:
    """The scheduler's dashboard address, when it serves one (a LocalCluster serves its pages
    only when bokeh is installed here)."""
    if local and importlib.util.find_spec("bokeh") is None:
        return None
    try:
        services = client.scheduler_info().get("services", {})
    except (OSError, AttributeError):
        return None
    return client.dashboard_link if "dashboard" in services else None


def n_workers(client: Any) -> int:
    return len(client.scheduler_info().get("workers", {})) or 1
