"""A model bundle opened for deciding: its model, the decision engine built from the config, and
(made on first use) the record path's pipeline or the column path's scorer, each continuing
from the bundle's feature-store state (or from an empty store)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from fraudcli.bundle import DEFAULT_MODEL_DIR, Bundle, load_bundle
from fraudcli.config import Config
from fraudcli.decision.engine import DecisionEngine, Thresholds
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.model.logreg import LinearScorer
from fraudcli.records.schema import RECORD_FIELDS
from fraudcli.scoring.pipeline import Pipeline

if TYPE_CHECKING:  # the column path's modules load NumPy, Arrow and pandas: when it runs
    from fraudcli.features.continued import ColumnState
    from fraudcli.scoring.blocks import ColumnScorer


class OpenBundle:
    """`bundle` ready to decide under `config`. The state is restored only by the path that
    runs: `pipeline` (record path) or `column_scorer()` (column path)."""

    def __init__(self, bundle: Bundle, config: Config, *, fresh_state: bool = False) -> None:
        self.bundle, self.config, self.fresh_state = bundle, config, fresh_state
        self.store_config = StoreConfig(**bundle.store)
        self._continued: ColumnState | InMemoryStore | None = None  # see `continue_from`
        self._columns: ColumnScorer | None = None  # the last column scorer made

    def continue_from(self, state: ColumnState | InMemoryStore) -> None:
        """Decide from `state` (left by other data) instead of the bundle's."""
        self._continued = state

    def state_end(self) -> float:
        """The newest timestamp in the state deciding starts from (-inf when empty)."""
        from fraudcli.features.snapshot import snapshot_end

        state = self._continued
        if isinstance(state, InMemoryStore):
            return snapshot_end(state.snapshot())
        if state is not None:  # a ColumnState
            return state.newest
        return -float("inf") if self.fresh_state else snapshot_end(self.bundle.state)

    def state_after(self) -> ColumnState | InMemoryStore:
        """The state the records decided so far left (by whichever path ran)."""
        if "pipeline" in self.__dict__:
            return self.pipeline.store
        scorer = self._columns
        if scorer is None:
            raise ValueError("nothing was decided")
        return scorer.record_path.store if scorer.record_path else scorer.state

    @cached_property
    def model(self) -> LinearScorer:
        return LinearScorer.from_dict(self.bundle.model)

    @cached_property
    def engine(self) -> DecisionEngine:
        return build_engine(self.config, self.bundle.thresholds)

    @cached_property
    def pipeline(self) -> Pipeline:
        """The record path: lookup, judge, update, one record at a time."""
        state = self._continued
        if state is not None and not isinstance(state, InMemoryStore):  # a ColumnState
            store = state.to_store()
        elif state is not None:
            store = state
        elif self.fresh_state:
            store = InMemoryStore(self.store_config)
        else:
            store = InMemoryStore.restore(self.bundle.state, self.store_config)
        return Pipeline(store, self.model, self.engine)

    def column_scorer(self, with_features: bool = False) -> ColumnScorer:
        """The column path: blocks of records decided over columns, proved equal."""
        from fraudcli.features.continued import ColumnState
        from fraudcli.scoring.blocks import ColumnScorer

        state = self._continued
        if isinstance(state, InMemoryStore):
            state = ColumnState.from_snapshot(state.snapshot(), self.store_config)
        elif state is None and self.fresh_state:
            state = ColumnState(self.store_config)
        elif state is None:
            state = ColumnState.from_snapshot(self.bundle.state, self.store_config)
        self._columns = ColumnScorer(state, self.model, self.engine, with_features)
        return self._columns


def open_bundle(
    config: Config,
    model_dir: str | Path | None = None,
    *,
    fresh_state: bool = False,
    profile: bool = False,
) -> OpenBundle:
    """Load and verify the bundle at `model_dir` (default ./fraud-model) for deciding; its
    drift profile parsed only when asked for."""
    bundle = load_bundle(model_dir or DEFAULT_MODEL_DIR, profile=profile)
    return OpenBundle(bundle, config, fresh_state=fresh_state)


def build_engine(config: Config, thresholds: dict[str, float] | None = None) -> DecisionEngine:
    """Rules and block lists from the config; thresholds from the bundle when it has them.

    A `[thresholds]` table in the user's fraud.toml overrides the bundle's thresholds.
    """
    engine = DecisionEngine.from_config(config.data, set(FEATURE_NAMES) | set(RECORD_FIELDS))
    if thresholds and "thresholds" not in config.user_keys:
        engine = engine.with_thresholds(Thresholds(thresholds["review"], thresholds["block"]))
    return engine
