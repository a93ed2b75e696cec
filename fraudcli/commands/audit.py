"""The audit trail: what decided a run's records, and what the run did.

Every decision is traceable to two things: the bundle (`BundleInfo.id`, the first 12 hex digits
of the SHA-256 of its canonical manifest, which lists the SHA-256 of every file) and the
configuration (`config_hash`, the SHA-256 of the merged fraud.toml). An `Audit` holds both with
the command, its arguments, versions, counts and start and end times; the CLI prints it on
stderr, adds it to `--json` / `--report` outputs, and writes it beside `-o FILE` as
`FILE.audit.json` (`write_sidecar`).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path

from fraudcli.bundle.model_bundle import BundleInfo
from fraudcli.config.load import Config

AUDIT_VERSION = 1
SIDECAR_SUFFIX = ".audit.json"
LEVELS = ("review", "block")


def config_hash(config: Config) -> str:
    """SHA-256 of the merged configuration (shipped defaults <- fraud.toml <- `--map`) as
    canonical JSON: sorted keys, separators "," and ":", TOML dates as ISO text. The tables
    the user's file sets are part of it: a `[thresholds]` there replaces the bundle's."""
    data = {
        "fraud.toml": dict(config.data) | {"columns": dict(config.columns.mapping)},
        "set_by_user": sorted(config.user_keys),
    }
    text = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_toml_value
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _toml_value(value):
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a TOML value")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def versions() -> dict[str, str]:
    """The versions that made a run's numbers (from the modules: reading the installed
    packages' metadata costs 35 ms a start)."""
    import numpy
    import pyarrow

    import fraudcli

    return {
        "python": platform.python_version(),
        "fraudcli": fraudcli.__version__,
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
    }


@dataclass(frozen=True)
class Audit:
    command: str
    config_hash: str
    config_sources: tuple[str, ...]
    bundle: BundleInfo | None
    started: str
    finished: str
    counts: dict = field(default_factory=dict)
    arguments: dict = field(default_factory=dict)
    redaction: str | None = None  # where the --redact key came from; None: not redacted
    overrides: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "audit_version": AUDIT_VERSION,
            "command": self.command,
            "arguments": self.arguments,
            "bundle": None if self.bundle is None else self.bundle.to_dict(),
            "config": {"sha256": self.config_hash, "sources": list(self.config_sources)},
            "overrides_of_signed_bundle": list(self.overrides),
            "redacted": self.redaction,
            "versions": versions(),
            "started": self.started,
            "finished": self.finished,
            "counts": self.counts,
        }


def sidecar_path(output: Path) -> Path:
    return output.with_name(output.name + SIDECAR_SUFFIX)


def write_sidecar(audit: Audit, output: Path | None) -> Path | None:
    """`audit` as JSON beside `output` when that is a regular file (not stdout, a pipe or a
    device), written to a temporary name and renamed into place; its path, or None."""
    if output is None:
        return None
    try:
        if not stat.S_ISREG(os.stat(output).st_mode):
            return None
    except OSError:
        return None
    path = sidecar_path(Path(output))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(audit.to_dict(), indent=2, default=str) + "\n", "utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def overrides(config: Config, bundle_thresholds: dict[str, float]) -> tuple[str, ...]:
    """What the user's fraud.toml changes in the decisions a bundle was trained and signed
    with: its thresholds, and rules and block lists other than the shipped defaults."""
    found = []
    if "thresholds" in config.user_keys:
        mine = config.data.get("thresholds", {})
        pairs = [f"{k} {_num(bundle_thresholds[k])} -> {_num(_get(mine, k))}" for k in LEVELS]
        found.append("thresholds " + ", ".join(pairs))
    defaults = _defaults()
    shipped = {str(r.get("name")): r for r in defaults.get("rules", [])}
    for rule in config.data.get("rules", []):
        name = str(rule.get("name")) if isinstance(rule, dict) else repr(rule)
        if name not in shipped:
            found.append(f"rule {name[:80]} added")
        elif rule != shipped[name]:
            found.append(f"rule {name[:80]} replaced")
    if config.data.get("blocklists") != defaults.get("blocklists"):
        found.append("blocklists changed")
    return tuple(found)


def _num(value: object) -> str:
    return f"{value:.10g}" if isinstance(value, float) else str(value)[:40]


def _get(table: object, key: str) -> object:
    return table.get(key) if isinstance(table, dict) else None


def _defaults() -> dict:
    text = resources.files("fraudcli").joinpath("defaults/fraud.toml").read_text("utf-8")
    return tomllib.loads(text)
