"""The Dask engine (`--engine dask`): `fraud features`, `train` and `score` on a Parquet dataset
across a cluster, equal to the embedded run. Dask is imported only when a run starts."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "DaskOptions": "cluster",
    "require_dask": "cluster",
    "Progress": "compute",
    "ShuffleStats": "compute",
    "features_dataset": "features",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
