"""Model bundles: a directory of JSON and Parquet files with a manifest of SHA-256 checksums.

    fraud-model/
      manifest.json      schema version, feature list, thresholds, metrics, data fingerprint,
                         store settings, and the SHA-256 of every other file
      model.json         scaler and logistic-regression coefficients
      profile.json       the reference profile for drift reports
      state/*.parquet    the feature store's state at the end of the training data

Written to a temporary sibling directory and renamed into place, so a crash never leaves half
a bundle. Loading verifies everything and raises BundleError with a plain reason. Never pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fraudcli.errors import BundleError
from fraudcli.features.spec import FEATURE_NAMES

SCHEMA_VERSION = 1
DEFAULT_MODEL_DIR = Path("fraud-model")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Bundle:
    model: dict
    thresholds: dict[str, float]
    store: dict[str, float]
    state: dict[str, pa.Table] = field(repr=False)
    profile: dict = field(default_factory=dict, repr=False)
    metrics: dict = field(default_factory=dict)
    fingerprint: dict = field(default_factory=dict)
    feature_names: tuple[str, ...] = FEATURE_NAMES
    created: str = ""


def save_bundle(bundle: Bundle, path: str | Path) -> Path:
    """Write `bundle` atomically to directory `path` (replacing an existing bundle)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; a bundle is an ordinary directory
    try:
        files = _write_parts(bundle, tmp)
        manifest = _manifest(bundle, files)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n")
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _write_parts(bundle: Bundle, root: Path) -> dict[str, str]:
    (root / "state").mkdir()
    _write_json(root / "model.json", bundle.model)
    _write_json(root / "profile.json", bundle.profile)
    for name, table in bundle.state.items():
        pq.write_table(table, root / "state" / f"{name}.parquet", compression="zstd")
    names = ["model.json", "profile.json"] + [f"state/{n}.parquet" for n in sorted(bundle.state)]
    return {name: sha256_file(root / name) for name in names}


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, allow_nan=False, separators=(",", ":")))


def _manifest(bundle: Bundle, files: dict[str, str]) -> dict:
    manifest = {
        "format": "fraudcli-model",
        "schema_version": SCHEMA_VERSION,
        "created": bundle.created or datetime.now(UTC).isoformat(timespec="seconds"),
        "feature_names": list(bundle.feature_names),
        "thresholds": bundle.thresholds,
        "store": bundle.store,
        "metrics": bundle.metrics,
        "training_data": bundle.fingerprint,
        "files": files,
    }
    return manifest | {"checksum": _manifest_checksum(manifest)}


def _manifest_checksum(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _swap_into_place(tmp: Path, target: Path) -> None:
    if target.exists():
        if not (target / MANIFEST).is_file():
            raise BundleError(f"{target} exists and is not a model bundle; not overwriting it")
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(target)


def load_bundle(path: str | Path = DEFAULT_MODEL_DIR, *, profile: bool = True) -> Bundle:
    """Read and verify a bundle; BundleError says what is wrong and what to do. Each file is
    read once: its bytes are checked against the manifest, then parsed. `profile` False leaves
    the drift profile unparsed (checked all the same): deciding does not read it."""
    root = Path(path)
    manifest = _read_manifest(root)
    _check_manifest(manifest, root)
    parts = {name: _verified(root, name, digest) for name, digest in manifest["files"].items()}
    state_files = [n for n in manifest["files"] if n.startswith("state/")]
    return Bundle(
        model=_parse_json(parts["model.json"], root / "model.json"),
        thresholds=manifest["thresholds"],
        store=manifest["store"],
        state={Path(n).stem: _parquet(parts[n]) for n in state_files},
        profile=_parse_json(parts["profile.json"], root / "profile.json") if profile else {},
        metrics=manifest.get("metrics", {}),
        fingerprint=manifest.get("training_data", {}),
        feature_names=tuple(manifest["feature_names"]),
        created=manifest.get("created", ""),
    )


def _verified(root: Path, name: str, digest: str) -> bytes:
    if not (root / name).is_file():
        raise BundleError(f"bundle {root} is missing {name}; retrain with `fraud train`")
    data = (root / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise BundleError(f"bundle {root}: {name} does not match its checksum (corrupt/edited)")
    return data


def _parquet(data: bytes) -> pa.Table:
    """A Parquet file's table from its bytes (`ParquetFile`: one file, no dataset layer)."""
    return pq.ParquetFile(pa.BufferReader(data)).read()


def _read_manifest(root: Path) -> dict:
    if not (root / MANIFEST).is_file():
        raise BundleError(
            f"no model bundle at {root}: run `fraud train` first (or pass --model DIR)"
        )
    try:
        manifest = json.loads((root / MANIFEST).read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise BundleError(f"bundle {root}: manifest.json is not valid JSON (corrupt)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "fraudcli-model":
        raise BundleError(f"{root} is not a fraudcli model bundle")
    return manifest


def _check_manifest(manifest: dict, root: Path) -> None:
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BundleError(
            f"bundle {root} has schema version {version}, this fraudcli reads {SCHEMA_VERSION}: "
            "retrain with `fraud train`"
        )
    if tuple(manifest.get("feature_names", ())) != FEATURE_NAMES:
        raise BundleError(
            f"bundle {root} was trained on other features than this fraudcli computes: retrain"
        )
    missing = {"thresholds", "store", "files", "checksum"} - set(manifest)
    if missing:
        raise BundleError(f"bundle {root}: manifest lacks {', '.join(sorted(missing))}")
    if manifest["checksum"] != _manifest_checksum(manifest):
        raise BundleError(f"bundle {root}: manifest.json does not match its checksum (edited)")


def _parse_json(data: bytes, path: Path) -> dict:
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise BundleError(f"{path} is not valid JSON (corrupt)") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
