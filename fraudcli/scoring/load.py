"""A model bundle opened for deciding: its model, the decision engine built from the config, and
(made on first use) the record path's pipeline or the column path's scorer, each continuing
from the bundle's feature-store state, a `--state` directory's, or an empty store."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from fraudcli.bundle.model_bundle import DEFAULT_MODEL_DIR, Bundle, load_bundle
from fraudcli.bundle.signing import Trust, active_trust
from fraudcli.config.load import Config
from fraudcli.decision.engine import DecisionEngine
from fraudcli.features.redis_url import RedisURL, is_redis_url, parse_redis_url
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.model.scorer import Scorer, load_scorer
from fraudcli.records.schema import RECORD_FIELDS
from fraudcli.scoring.pipeline import Pipeline
from fraudcli.state.directory import is_state, read_state

if TYPE_CHECKING:  # the column path's modules load NumPy, Arrow and pandas: when it runs
    import pyarrow as pa

    from fraudcli.features.store import FeatureStore
    from fraudcli.scoring.blocks import ColumnScorer


class OpenBundle:
    """`bundle` ready to decide under `config`. The state is restored only by the path that
    runs: `pipeline` (record path) or `column_scorer()` (column path). `state`: tables to
    start from instead of the bundle's (a `--state` directory's)."""

    def __init__(
        self,
        bundle: Bundle,
        config: Config,
        *,
        fresh_state: bool = False,
        state: dict[str, pa.Table] | None = None,
        shared: FeatureStore | None = None,
    ) -> None:
        self.bundle, self.config, self.fresh_state = bundle, config, fresh_state
        self.shared = shared  # a store other processes may share (Redis): the record path's
        self.store_config = StoreConfig(**bundle.store)
        # the rules compiled now: a bad rule stops the run before any output is opened
        self.engine = build_engine(config, bundle.thresholds)
        self.state = bundle.state if state is None else state
        self.keep_states = False  # the column path's blocks carry the state after them
        self.scorer: ColumnScorer | None = None  # the column path, once it runs

    def continue_from(self, tables: dict[str, pa.Table]) -> None:
        """Decide from the state `tables` hold (left by other data) instead of the bundle's."""
        self.state, self.fresh_state = tables, False

    def state_end(self) -> float:
        """The newest timestamp in the state deciding starts from (-inf when empty)."""
        from fraudcli.features.snapshot import snapshot_end

        if self.shared is not None:
            return self.shared.newest
        return -float("inf") if self.fresh_state else snapshot_end(self.state)

    @cached_property
    def model(self) -> Scorer:
        return load_scorer(self.bundle.model)

    @cached_property
    def pipeline(self) -> Pipeline:
        """The record path: lookup, judge, update, one record at a time."""
        if self.shared is not None:
            store = self.shared
        elif self.fresh_state:
            store = InMemoryStore(self.store_config)
        else:
            store = InMemoryStore.restore(self.state, self.store_config)
        return Pipeline(store, self.model, self.engine)

    def column_scorer(self, with_features: bool = False) -> ColumnScorer:
        """The column path: blocks of records decided over columns, proved equal."""
        from fraudcli.features.continued import ColumnState
        from fraudcli.records.id_registry import IdRegistry
        from fraudcli.scoring.blocks import ColumnScorer

        window = self.store_config.id_window
        if self.fresh_state:
            state, ids = ColumnState(self.store_config), IdRegistry(window)
        else:
            state = ColumnState.from_snapshot(self.state, self.store_config)
            ids = IdRegistry.from_table(self.state.get("transactions"), window, state.newest)
        self.scorer = ColumnScorer(state, self.model, self.engine, with_features, ids)
        self.scorer.keep_states = self.keep_states
        return self.scorer

    def snapshot(self) -> dict[str, pa.Table]:
        """The state now, of the path that ran (its tables and the id registry)."""
        if self.scorer is not None:
            return self.scorer.snapshot()
        return self.pipeline.store.snapshot()


def open_bundle(
    config: Config,
    model_dir: str | Path | None = None,
    *,
    fresh_state: bool = False,
    state_path: str | Path | None = None,
    trust: Trust | None = None,
    profile: bool = False,
    redis: RedisURL | None = None,
    overwrite_state: bool = False,
    command: str = "score",
) -> OpenBundle:
    """Load and verify the bundle at `model_dir` (default ./fraud-model) for deciding, under
    `trust` (default: the running command's, `fraudcli.bundle.signing.active_trust`), to
    continue from the state at `state_path` when there is one there (verified, and written
    for the bundle's store settings), else from the bundle's; its drift profile parsed only
    when asked for (`profile`). With `redis` the record path runs on the Redis state there
    (started from the bundle's the first time: `fraudcli.state.redis_state.open_store`, by
    `command`); a `state_path` that is a redis:// URL is read once, never written."""
    own_state = (  # a --state directory to continue from: the bundle's state is not read
        redis is None
        and state_path is not None
        and not fresh_state
        and not is_redis_url(state_path)
        and is_state(state_path)
    )
    bundle = load_bundle(
        model_dir or DEFAULT_MODEL_DIR, trust, profile=profile, state=not own_state
    )
    if redis is not None:
        from fraudcli.state.redis_state import open_store

        shared = open_store(
            redis, StoreConfig(**bundle.store), bundle.state,
            fresh=fresh_state, overwrite=overwrite_state, command=command,
        )  # fmt: skip
        return OpenBundle(bundle, config, fresh_state=fresh_state, shared=shared)
    state = None
    if state_path is not None and not fresh_state and is_redis_url(state_path):
        from fraudcli.state.redis_state import read_tables

        state = read_tables(parse_redis_url(str(state_path)), StoreConfig(**bundle.store))
    elif own_state:
        state = read_state(state_path, StoreConfig(**bundle.store)).tables
    return OpenBundle(bundle, config, fresh_state=fresh_state, state=state)


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
