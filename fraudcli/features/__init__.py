"""Point-in-time features: their one definition (spec), the store they are looked up in and
updated, the vectorised kernels proved equal to it, and feature tables."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "ColumnState": "continued",
    "FeatureTable": "feature_table",
    "collect_features": "feature_table",
    "FEATURES": "spec",
    "FEATURE_NAMES": "spec",
    "Feature": "spec",
    "FeatureStore": "store",
    "InMemoryStore": "store",
    "RedisStore": "redis_store",
    "StoreConfig": "store",
    "StoreTimeout": "store",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
