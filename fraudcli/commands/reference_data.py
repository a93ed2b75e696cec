"""`drift-report --reference DATA`: a profile of other data, made through a fresh feature store
as `fraud score --fresh-state` decides it (the column path for a file, proved equal to the
record path), and the state it leaves, which the current data then continues from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from fraudcli.commands.reference import profile_columns, steady_rows
from fraudcli.drift import build_profile
from fraudcli.errors import InputError
from fraudcli.features.feature_table import CATEGORICAL, RECORD, FeatureTable
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import OpenBundle
from fraudcli.scoring.output import Scored, ScoredRecords


def profile_of_data(reference: Path, opened: OpenBundle) -> tuple[dict, dict[str, pa.Table]]:
    """The drift profile of `reference` (after its warm-up) and the state it leaves (tables,
    the id registry included: an id of the reference is a duplicate in the current data)."""
    fresh = OpenBundle(opened.bundle, opened.config, fresh_state=True)
    seen = _Seen()
    for batch in decided(reference, fresh, RejectSink(None), RunSummary()):
        seen.add(batch)
    table, probability, decisions = seen.table()
    if not len(table):
        raise InputError(f"no valid records in {reference}")
    rows = steady_rows(table.ts, opened.store_config.label_delay)
    numeric, categorical = profile_columns(table, rows, probability, decisions[rows].tolist())
    decision_column = {"decision": categorical.pop("decision")}
    profile = build_profile(numeric, categorical).to_dict()
    profile["decisions"] = build_profile({}, decision_column).to_dict()["categorical"]
    return profile, fresh.snapshot()


class _Seen:
    """The decided batches' columns a profile is made of."""

    def __init__(self) -> None:
        self.X, self.p, self.decisions = [], [], []
        self.columns: dict[str, list] = {name: [] for name in ("ts", "is_fraud", *CATEGORICAL)}
        self.columns |= {name: [] for name in RECORD}

    def add(self, scored: Scored | ScoredRecords) -> None:
        self.X.append(scored.X)
        self.p.append(scored.p)
        self.decisions += scored.decisions()
        for name, values in self.columns.items():
            values.append(scored.data[name])

    def table(self) -> tuple[FeatureTable, np.ndarray, np.ndarray]:
        def listed(name: str) -> list:
            return [v for column in self.columns[name] for v in column.to_pylist()]

        def floats(name: str) -> np.ndarray:
            return np.concatenate([c.to_numpy(zero_copy_only=False) for c in self.columns[name]])

        X = np.concatenate(self.X) if self.X else np.empty((0, 26))
        labels = [-1 if v is None else v for v in listed("is_fraud")]
        table = FeatureTable(
            X,
            np.asarray(labels, dtype=np.int8),
            floats("ts") if self.X else np.empty(0),
            X[:, 0],
            categorical={name: listed(name) for name in (*CATEGORICAL, *RECORD)},
        )
        p = np.concatenate(self.p) if self.p else np.empty(0)
        return table, p, np.asarray(self.decisions, dtype=object)
