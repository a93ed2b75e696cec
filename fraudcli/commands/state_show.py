"""`fraud state show [PATH]`: what a feature state holds (a `--state` directory's, or the
model bundle's): users, merchants, ids, time range, entries, labels, memory, the last
checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.bundle.model_bundle import DEFAULT_MODEL_DIR, load_bundle
from fraudcli.errors import StateError
from fraudcli.features.redis_url import RedisURL, is_redis_url, parse_redis_url
from fraudcli.records.timestamps import format_timestamp
from fraudcli.state.directory import counts, read_state


@dataclass(frozen=True)
class StateReport:
    source: str  # "state DIR" or "model bundle DIR"
    counts: dict[str, int]
    oldest: float | None
    newest: float | None
    store: dict
    memory_bytes: int  # the tables as Arrow holds them
    disk_bytes: int
    written: str  # when it was written (UTC, wall clock)
    checkpoint: dict

    def to_dict(self) -> dict:
        stamp = lambda ts: None if ts is None else format_timestamp(ts)  # noqa: E731
        return {
            "source": self.source,
            **self.counts,
            "oldest": stamp(self.oldest),
            "newest": stamp(self.newest),
            "store": self.store,
            "memory_bytes": self.memory_bytes,
            "disk_bytes": self.disk_bytes,
            "written": self.written,
            "checkpoint": self.checkpoint,
        }


def show_state(path: str | Path | None = None, model_dir: Path | None = None) -> StateReport:
    """The report of the state at `path` (a directory or a redis:// URL), or of the bundle's
    state (default ./fraud-model)."""
    if is_redis_url(path):
        return _redis_report(parse_redis_url(str(path)))
    if path is not None:
        state = read_state(path)
        manifest, files = state.manifest, [Path(path) / name for name in state.manifest["files"]]
        return _report(f"state {path}", state.tables, manifest, files)
    root = Path(model_dir or DEFAULT_MODEL_DIR)
    bundle = load_bundle(root)
    manifest = {"store": bundle.store, "written": bundle.created, "checkpoint": {}}
    files = sorted(f for f in (root / "state").iterdir() if f.suffix in (".arrow", ".parquet"))
    return _report(f"model bundle {root}", bundle.state, manifest, files)


def _redis_report(url: RedisURL) -> StateReport:
    """A Redis state's report: its tables read back (nothing on disk), its manifest."""
    from fraudcli.state.redis_state import read_manifest

    found = read_manifest(url)
    if found is None:
        raise StateError(f"no fraud state at {url} (no manifest under its prefix)")
    store, manifest = found
    started = {"command": manifest.get("command", "?"), "reason": "started"}
    about = {"store": store.config.to_dict(), "written": manifest.get("started", "")}
    return _report(f"state {url}", store.snapshot(), about | {"checkpoint": started}, [])


def _report(source: str, tables: dict[str, pa.Table], manifest: dict, files) -> StateReport:
    times = [t["ts"] for name, t in tables.items() if name.endswith("_entries") and t.num_rows]
    oldest = min((pc.min(c).as_py() for c in times), default=None)
    newest = max((pc.max(c).as_py() for c in times), default=None)
    return StateReport(
        source=source,
        counts=counts(_with_defaults(tables)),
        oldest=oldest,
        newest=newest,
        store=manifest.get("store", {}),
        memory_bytes=sum(table.nbytes for table in tables.values()),
        disk_bytes=sum(f.stat().st_size for f in files if f.exists()),
        written=manifest.get("written", ""),
        checkpoint=manifest.get("checkpoint", {}),
    )


def _with_defaults(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """An older bundle's state has no label changes and no registry: none, then."""
    out = dict(tables)
    out.setdefault("label_changes", pa.table({"merchant_id": pa.array([], pa.string())}))
    return out
