"""Loading what the commands share: the bundle, the config, and the pipeline built from them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from fraudcli.bundle import DEFAULT_MODEL_DIR, Bundle, load_bundle
from fraudcli.config import Config
from fraudcli.decision.engine import DecisionEngine
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.model.scorer import load_scorer
from fraudcli.pipeline import RECORD_FIELDS, Pipeline


@dataclass(frozen=True)
class Loaded:
    bundle: Bundle
    pipeline: Pipeline


def load_pipeline(
    config: Config, model_dir: str | Path | None = None, *, fresh_state: bool = False
) -> Loaded:
    """The bundle's model, thresholds and (unless `fresh_state`) its feature-store state."""
    bundle = load_bundle(model_dir or DEFAULT_MODEL_DIR)
    store_config = StoreConfig(**bundle.store)
    if fresh_state:
        store = InMemoryStore(store_config)
    else:
        store = InMemoryStore.restore(bundle.state, store_config)
    engine = build_engine(config, bundle.thresholds)
    scorer = load_scorer(bundle.model)
    return Loaded(bundle, Pipeline(store, scorer, engine))


def build_engine(config: Config, thresholds: dict[str, float] | None = None) -> DecisionEngine:
    """Rules and block lists from the config; thresholds from the bundle when it has them.

    A `[thresholds]` table in the user's fraud.toml overrides the bundle's thresholds; the
    expected-loss costs always come from `[policy]`.
    """
    engine = DecisionEngine.from_config(config.data, set(FEATURE_NAMES) | set(RECORD_FIELDS))
    if thresholds and "thresholds" not in config.user_keys:
        cutoffs = {"review": thresholds["review"], "block": thresholds["block"]}
        engine = engine.with_thresholds(replace(engine.thresholds, **cutoffs))
    return engine
