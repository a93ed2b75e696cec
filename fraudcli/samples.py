"""The sample data shipped inside the package, so that commands run with no arguments."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

TRAIN = "train.parquet"
SCORE = "txns.jsonl"
DRIFT = "drift.parquet"


def sample_path(name: str) -> Path:
    """Path of a shipped sample file (train.parquet, txns.jsonl, drift.parquet)."""
    return Path(str(resources.files("fraudcli").joinpath("data", name)))
