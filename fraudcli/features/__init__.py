"""Point-in-time features: their one definition (spec) and the state they are computed from."""

from fraudcli.features.spec import FEATURE_NAMES, FEATURES, Feature
from fraudcli.features.store import FeatureStore, InMemoryStore, StoreConfig

__all__ = ["FEATURES", "FEATURE_NAMES", "Feature", "FeatureStore", "InMemoryStore", "StoreConfig"]
