"""The LocalCluster `fraud ... --engine dask` starts when no `--scheduler` is given: worker
processes of the size asked for, which write distributed's errors only on stderr (not its
memory warnings), and the environment of this process left as it was."""

from __future__ import annotations

import logging
import os

import pytest

from fraudcli.engines.dask.cluster import DaskOptions, connected
from tests.engines.conftest import DASK_WARNINGS

pytestmark = [pytest.mark.filterwarnings(w) for w in DASK_WARNINGS]


def _distributed_level() -> int:
    return logging.getLogger("distributed.worker.memory").getEffectiveLevel()


def test_the_local_cluster_has_quiet_workers_of_the_size_asked(monkeypatch):
    monkeypatch.delenv("DASK_LOGGING__DISTRIBUTED", raising=False)
    with connected(DaskOptions(workers=1, memory_limit="1GB")) as client:
        workers = client.scheduler_info()["workers"]
        levels = client.run(_distributed_level)
    assert [w["memory_limit"] for w in workers.values()] == [10**9]
    assert [w["nthreads"] for w in workers.values()] == [1]
    assert list(levels.values()) == [logging.ERROR]
    assert "DASK_LOGGING__DISTRIBUTED" not in os.environ
