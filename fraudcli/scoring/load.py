"""A model bundle opened for deciding: its model, the decision engine built from the config, and
(made on first use) the record path's pipeline or the column path's scorer, each continuing
from the bundle's feature-store state (or from an empty store)."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path

from fraudcli.bundle.model_bundle import DEFAULT_MODEL_DIR, Bundle, load_bundle
from fraudcli.bundle.signing import Trust, active_trust
from fraudcli.config.load import Config
from fraudcli.decision.engine import DecisionEngine
from fraudcli.features.continued import ColumnState
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.model.scorer import Scorer, load_scorer
from fraudcli.records.schema import RECORD_FIELDS
from fraudcli.scoring.blocks import ColumnScorer
from fraudcli.scoring.pipeline import Pipeline


class OpenBundle:
    """`bundle` ready to decide under `config`. The state is restored only by the path that
    runs: `pipeline` (record path) or `column_scorer()` (column path)."""

    def __init__(self, bundle: Bundle, config: Config, *, fresh_state: bool = False) -> None:
        self.bundle, self.config, self.fresh_state = bundle, config, fresh_state
        self.store_config = StoreConfig(**bundle.store)
        # the rules compiled now: a bad rule stops the run before any output is opened
        self.engine = build_engine(config, bundle.thresholds)

    @cached_property
    def model(self) -> Scorer:
        return load_scorer(self.bundle.model)

    @cached_property
    def pipeline(self) -> Pipeline:
        """The record path: lookup, judge, update, one record at a time."""
        if self.fresh_state:
            store = InMemoryStore(self.store_config)
        else:
            store = InMemoryStore.restore(self.bundle.state, self.store_config)
        return Pipeline(store, self.model, self.engine)

    def column_scorer(self, with_features: bool = False) -> ColumnScorer:
        """The column path: blocks of records decided over columns, proved equal."""
        if self.fresh_state:
            state = ColumnState(self.store_config)
        else:
            state = ColumnState.from_snapshot(self.bundle.state, self.store_config)
        return ColumnScorer(state, self.model, self.engine, with_features)


def open_bundle(
    config: Config,
    model_dir: str | Path | None = None,
    *,
    fresh_state: bool = False,
    trust: Trust | None = None,
) -> OpenBundle:
    """Load and verify the bundle at `model_dir` (default ./fraud-model) for deciding, under
    `trust` (default: the running command's, `fraudcli.bundle.signing.active_trust`)."""
    bundle = load_bundle(model_dir or DEFAULT_MODEL_DIR, trust)
    return OpenBundle(bundle, config, fresh_state=fresh_state)


def open_challenger(config: Config, model_dir: str | Path) -> OpenBundle:
    """A challenger bundle (`--shadow`): signed with the run's key if it has one, but not the
    bundle `--expect-bundle` pins, which names the champion."""
    return open_bundle(config, model_dir, trust=Trust(active_trust().key))


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
