"""A real Dask LocalCluster for the engine's tests: two single-threaded workers in this process
(threads, so it starts in well under a second), shared by the tests of this package and closed
after them (its threads must not run beside the latency tests that come later)."""

from __future__ import annotations

import pytest

# distributed's own warnings (its event loop, its shuffle plugin) are not ours to fail on
DASK_WARNINGS = [
    "ignore::DeprecationWarning:distributed.*",
    "ignore::DeprecationWarning:tornado.*",
    "ignore::ResourceWarning",
    "ignore:.*Port .* is already in use.*:UserWarning",
    "ignore:.*unclosed.*:ResourceWarning",
    "ignore::pytest.PytestUnraisableExceptionWarning",
]


@pytest.fixture(scope="package")
def dask_cluster():
    import logging

    from distributed import LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    yield cluster
    cluster.close()


@pytest.fixture
def dask_options(dask_cluster):
    """Options that send a run to the test cluster, in partitions of `partition_rows`, the
    kernels stepping through `side_rows` rows of a shuffled partition at a time."""
    from fraudcli.engines.dask.cluster import SIDE_ROWS, DaskOptions

    def options(partition_rows: int = 1 << 20, side_rows: int = SIDE_ROWS) -> DaskOptions:
        return DaskOptions(
            scheduler=dask_cluster.scheduler_address,
            partition_rows=partition_rows,
            side_rows=side_rows,
        )

    return options
