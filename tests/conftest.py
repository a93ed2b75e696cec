"""Shared fixtures: a small simulated world and a model trained on it, made once per run."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from fraudcli.records.timestamps import format_timestamp
from fraudcli.simulation.simulate import simulate

SEED = 11

pytest_plugins = [
    "tests.redis_fixtures"
]  # a real redis-server: `redis_server`, `make_redis_server`


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """train.parquet (40 days), later.jsonl (the next 2 days) of one simulated world."""
    root = tmp_path_factory.mktemp("world")
    pq.write_table(simulate(40_000, seed=SEED, start="2026-01-01", days=40), root / "train.parquet")
    later = simulate(3_000, seed=SEED, start="2026-02-10", days=2).to_pylist()
    with open(root / "later.jsonl", "w") as out:
        for row in later:
            row["timestamp"] = format_timestamp(row["timestamp"].timestamp())
            out.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    return root


@pytest.fixture(scope="session")
def model_dir(world):
    """A bundle trained on the small world through the library entry point."""
    from fraudcli.commands.train import train_file
    from fraudcli.config.load import load_config

    path = world / "model"
    train_file(world / "train.parquet", config=load_config(), model_dir=path)
    return path
