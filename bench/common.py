"""Shared fixtures for the benchmarks: simulated data and a trained model, made once, cached."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

CACHE = Path(".bench-cache")
SEED = 7
N_BIG = 1_000_000


def heading(name: str) -> None:
    print(f"\n== {name} " + "=" * (60 - len(name)))


def figure(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<58} {value:>16}  {target}")


@contextmanager
def timed():
    box = {}
    started = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - started


def big_table():
    """1M simulated transactions of the sample's world, after its training period (so scoring
    continues the bundle's state in time order), cached as Parquet."""
    import pyarrow.parquet as pq

    from fraudcli.simulation.simulate import simulate

    path = CACHE / "big.parquet"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        pq.write_table(simulate(N_BIG, seed=SEED, start="2026-03-02", days=300.0), path)
    return path


def big_jsonl() -> Path:
    """The same 1M transactions as JSONL lines with ISO timestamps."""
    import pyarrow.parquet as pq

    from fraudcli.records.timestamps import format_timestamp

    path = CACHE / "big.jsonl"
    if not path.exists():
        table = pq.read_table(big_table())
        ts = table.column("timestamp").cast("int64").to_pylist()
        rows = table.drop_columns(["timestamp"]).to_pylist()
        with open(path, "w") as out:
            for t, row in zip(ts, rows, strict=True):
                row = {"timestamp": format_timestamp(t / 1000)} | row
                out.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    return path


def trained_model() -> Path:
    """A bundle trained on the shipped sample, cached."""
    from fraudcli.commands.train import train_file
    from fraudcli.config.load import load_config
    from fraudcli.samples import TRAIN, sample_path

    path = CACHE / "model"
    if not (path / "manifest.json").exists():
        CACHE.mkdir(exist_ok=True)
        train_file(sample_path(TRAIN), config=load_config(), model_dir=path)
    return path
