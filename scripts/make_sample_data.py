"""Regenerate the sample data shipped in fraudcli/data/ and linked from sample_data/.

    python scripts/make_sample_data.py        (or: make sample-data)

Three periods of the same simulated world (seed 7), one after the other: a labelled training
set, a short stream to score, and a later drifted period. Re-running overwrites them with
byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudcli.simulation.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "fraudcli" / "data"
LINKS = ROOT / "sample_data"
SEED = 7
LIMIT_MB = 20.0

# file name -> the `fraud simulate` parameters that made it (see sample_data/README.md)
SAMPLES: dict[str, dict] = {
    "train.parquet": dict(n_transactions=200_000, start="2026-01-01", days=60.0),
    "txns.jsonl": dict(n_transactions=10_000, start="2026-03-02", days=3.0),
    "drift.parquet": dict(n_transactions=50_000, start="2026-03-02", days=14.0, drift=True),
}


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", compression_level=9)


def write_jsonl(table: pa.Table, path: Path) -> None:
    """One JSON object per line, ISO-8601 UTC timestamps, null fields left out."""
    seconds = table.column("timestamp").cast(pa.timestamp("s", tz="UTC"))  # whole seconds
    stamps = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ")
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", stamps)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in table.to_pylist():
            record = {key: value for key, value in row.items() if value is not None}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def link(name: str) -> None:
    """sample_data/<name> -> ../fraudcli/data/<name> (relative, so the repo can move)."""
    target = LINKS / name
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(Path("..") / "fraudcli" / "data" / name)


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    LINKS.mkdir(exist_ok=True)
    total = 0
    for name, params in SAMPLES.items():
        table = simulate(seed=SEED, **params)
        path = DATA / name
        (write_jsonl if name.endswith(".jsonl") else write_parquet)(table, path)
        link(name)
        frauds = pc.sum(table.column("is_fraud")).as_py()
        size = path.stat().st_size
        total += size
        print(f"{name}: {table.num_rows:,} rows, {frauds} fraud, {size / 1e6:.2f} MB")
    print(f"total {total / 1e6:.2f} MB")
    if total > LIMIT_MB * 1e6:
        raise SystemExit(f"sample data is {total / 1e6:.1f} MB, over the {LIMIT_MB} MB limit")


if __name__ == "__main__":
    main()
