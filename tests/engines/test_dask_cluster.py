"""The LocalCluster `fraud ... --engine dask` starts when no `--scheduler` is given: worker
processes of the size asked for, which write distributed's errors only on stderr (not its
memory warnings) and do not pause at 80% of their memory (a paused run can wait for ever),
the environment of this process left as it was; and a task whose workers die is an error that
says why."""

from __future__ import annotations

import logging
import os

import pytest

from fraudcli.engines.dask.cluster import DaskOptions, connected
from fraudcli.errors import FraudError
from tests.engines.conftest import DASK_WARNINGS

pytestmark = [pytest.mark.filterwarnings(w) for w in DASK_WARNINGS]


def _worker_settings(dask_worker) -> tuple[int, object]:
    level = logging.getLogger("distributed.worker.memory").getEffectiveLevel()
    return level, dask_worker.memory_manager.memory_pause_fraction


def test_the_local_cluster_has_workers_of_the_size_asked_quiet_and_unpaused(monkeypatch):
    import dask
    import distributed  # noqa: F401 - its config defaults first: `config.set` restores around them

    monkeypatch.delenv("DASK_LOGGING__DISTRIBUTED", raising=False)
    options = DaskOptions(workers=1, memory_limit="1GB")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with pytest.raises(FraudError, match="died 1 times .* out of memory .* 1GB"):
            with connected(options) as client:
                workers = client.scheduler_info()["workers"]
                settings = client.run(_worker_settings)
                client.submit(os._exit, 1).result()  # the worker dies running it
    assert [w["memory_limit"] for w in workers.values()] == [10**9]
    assert [w["nthreads"] for w in workers.values()] == [1]
    assert list(settings.values()) == [(logging.ERROR, False)]
    assert "DASK_LOGGING__DISTRIBUTED" not in os.environ
