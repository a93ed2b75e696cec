"""Model bundles: a directory of JSON and Arrow files with a manifest of SHA-256 checksums.

    fraud-model/
      manifest.json      schema version, feature list, thresholds, metrics, data fingerprint,
                         store settings, and the SHA-256 of every other file
      model.json         the binned logistic regression: bin edges and weights per feature
      profile.json       the reference profile for drift reports
      state/*.arrow      the feature store's state at the end of the training data: Arrow
                         IPC files (LZ4), which a start reads without decoding (schema
                         version 2 had Parquet, which took a one-record start 40-50 ms more;
                         those bundles are still read)

Written to a temporary sibling directory and renamed into place, so a crash never leaves half
a bundle. With a signing key (`fraudcli.signing`) the manifest carries an HMAC-SHA256 signature.
Loading verifies everything and raises BundleError with a plain reason: the files the format
requires (`fraudcli.bundle.shapes.required_files`, whatever the manifest lists) inside the
bundle, each read once and checked against its SHA-256, the signature when a key is set, and
the shape of every part (`fraudcli.bundle_shapes`, `fraudcli.bundle_state`). Never pickle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from fraudcli.bundle.read import (
    MANIFEST_LIMIT,
    parse_json,
    read_file,
    read_part,
    read_state_table,
)
from fraudcli.bundle.shapes import (
    OPTIONAL_STATE_TABLES,
    STATE_SUFFIX,
    STATE_TABLES,
    check_manifest,
    check_model,
    check_profile,
    shown,
    state_file,
)
from fraudcli.bundle.signing import SigningKey, Trust, active_trust, sign, verify
from fraudcli.bundle.state_tables import check_state
from fraudcli.errors import BundleError
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.files import Staged, each_in_threads

SCHEMA_VERSION = 3  # 2: binned model, thresholds may be "off"; 3: the state as Arrow IPC
DEFAULT_MODEL_DIR = Path("fraud-model")
MANIFEST = "manifest.json"
ID_DIGITS = 12


@dataclass(frozen=True)
class BundleInfo:
    """What a verified manifest says about its bundle: for audit trails and messages."""

    path: str
    sha256: str  # of the canonical manifest: its verified "checksum"
    signed: bool
    verified: bool  # the signature was checked with a configured key
    key_id: str | None
    thresholds: dict[str, float]
    created: str = ""

    @property
    def id(self) -> str:
        return self.sha256[:ID_DIGITS]

    @property
    def signature(self) -> str:
        if self.verified:
            return "verified"
        return "signed, not checked: no key set" if self.signed else "unsigned"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "manifest_sha256": self.sha256,
            "path": self.path,
            "created": self.created,
            "signature": self.signature,
            "key_id": self.key_id,
        }


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
    config_hash: str = ""  # of the configuration it was trained with (`fraudcli.audit`)
    info: BundleInfo | None = field(default=None, compare=False)  # set when loaded


def save_bundle(bundle: Bundle, path: str | Path, key: SigningKey | None = None) -> Path:
    """Write `bundle` atomically to directory `path` (replacing an existing bundle), signed
    with `key` (default: the running command's, if any)."""
    key = key or active_trust().key
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not (target / MANIFEST).is_file():
        raise BundleError(f"{target} exists and is not a model bundle; not overwriting it")
    staged = Staged(target, directory=True)  # .NAME.fraud-PID.tmp, see fraudcli.files
    try:
        files = _write_parts(bundle, staged.path)
        manifest = _manifest(bundle, files, key)
        (staged.path / MANIFEST).write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n")
        staged.commit()
    except BaseException:
        staged.discard()
        raise
    return target


def _write_parts(bundle: Bundle, root: Path) -> dict[str, str]:
    (root / "state").mkdir()
    _write_json(root / "model.json", bundle.model)
    _write_json(root / "profile.json", bundle.profile)
    names = ["model.json", "profile.json"]
    for name in sorted(bundle.state):
        names.append(state_file(name, SCHEMA_VERSION))
        write_arrow(bundle.state[name], root / names[-1])
    return {name: sha256_file(root / name) for name in names}


def write_arrow(table: pa.Table, path: Path) -> None:
    """`table` as an Arrow IPC file, its buffers LZ4-compressed (a bundle's state: 7.6 MB
    where Parquet took 3.6 and the raw buffers 16)."""
    from pyarrow import ipc

    options = ipc.IpcWriteOptions(compression="lz4")
    with ipc.new_file(str(path), table.schema, options=options) as writer:
        writer.write_table(table)


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, allow_nan=False, separators=(",", ":")))


def _manifest(bundle: Bundle, files: dict[str, str], key: SigningKey | None) -> dict:
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
    if bundle.config_hash:
        manifest["config_hash"] = bundle.config_hash
    if key is not None:
        manifest["signature"] = sign(manifest, key)
    return manifest | {"checksum": _manifest_checksum(manifest)}


def _manifest_checksum(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def load_bundle(
    path: str | Path = DEFAULT_MODEL_DIR,
    trust: Trust | None = None,
    *,
    profile: bool = True,
    state: bool = True,
) -> Bundle:
    """Read and verify a bundle; BundleError says what is wrong and what to do. Each file is
    read once: its bytes are checked against the manifest, then parsed. `profile` False leaves
    the drift profile unparsed (its checksum checked all the same): deciding does not read it.
    `state` False leaves the feature state unread (a run continuing from a `--state`
    directory does not use it): the bundle's `state` is then empty.

    `trust` (default: the running command's, `fraudcli.signing.active_trust`) may require a
    signature made with its key and a manifest SHA-256 starting with its `expect`."""
    root = Path(path)
    manifest, info = read_manifest(root, trust)
    where = f"bundle {root}"
    model = parse_json(read_part(root, manifest, "model.json"), where, "model.json")
    check_model(model, where)
    profile_bytes = read_part(root, manifest, "profile.json")
    if profile:
        profile = parse_json(profile_bytes, where, "profile.json")
        check_profile(profile, where)
    else:
        profile = {}
    tables = {}
    if state:  # the optional tables read only when listed (older bundles lack them)
        version = manifest["schema_version"]
        listed = [n for n in OPTIONAL_STATE_TABLES if state_file(n, version) in manifest["files"]]
        names = [*STATE_TABLES, *listed]
        parts = [state_file(name, version) for name in names]
        read = each_in_threads(lambda part: read_state_table(root, manifest, part), parts)
        tables = dict(zip(names, read, strict=True))
        check_state(tables, where)
    return Bundle(
        model=model,
        thresholds=manifest["thresholds"],
        store=manifest["store"],
        state=tables,
        profile=profile,
        metrics=manifest.get("metrics", {}),
        fingerprint=manifest.get("training_data", {}),
        feature_names=tuple(manifest["feature_names"]),
        created=manifest.get("created", ""),
        config_hash=manifest.get("config_hash", ""),
        info=info,
    )


def inspect_bundle(path: str | Path = DEFAULT_MODEL_DIR, trust: Trust | None = None) -> BundleInfo:
    """What the bundle's verified manifest says (its files are checked by `load_bundle`)."""
    return read_manifest(Path(path), trust)[1]


def bundle_id(manifest: dict) -> str:
    """A bundle's short id: the first 12 hex digits of its manifest's verified SHA-256."""
    return manifest["checksum"][:ID_DIGITS]


def read_manifest(root: Path, trust: Trust | None = None) -> tuple[dict, BundleInfo]:
    """The manifest, verified (checksum, signature when `trust` has a key, expected id, shape)."""
    trust = trust or active_trust()
    manifest = _read_manifest(root)
    _check_manifest(manifest, root)
    if trust.key is not None:
        verify(manifest, trust.key, f"bundle {root}")
    check_manifest(manifest, f"bundle {root}")
    digest = manifest["checksum"]
    if trust.expect is not None and not digest.startswith(trust.expect.lower()):
        raise BundleError(
            f"bundle {root} is {digest[:ID_DIGITS]}, not the expected {trust.expect[:ID_DIGITS]}"
        )
    signature = manifest.get("signature")
    info = BundleInfo(
        path=str(root),
        sha256=digest,
        signed=signature is not None,
        verified=trust.key is not None,
        key_id=signature.get("key_id") if isinstance(signature, dict) else None,
        thresholds=dict(manifest["thresholds"]),
        created=manifest.get("created", ""),
    )
    return manifest, info


def _read_manifest(root: Path) -> dict:
    if not (root / MANIFEST).exists():
        raise BundleError(
            f"no model bundle at {root}: run `fraud train` first (or pass --model DIR)"
        )
    manifest = parse_json(read_file(root, MANIFEST, MANIFEST_LIMIT), f"bundle {root}", MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != "fraudcli-model":
        raise BundleError(f"{root} is not a fraudcli model bundle")
    return manifest


def _check_manifest(manifest: dict, root: Path) -> None:
    version = manifest.get("schema_version")
    if type(version) is not int or version not in STATE_SUFFIX:
        raise BundleError(
            f"bundle {root} has schema version {shown(version)}, this fraudcli reads "
            f"{' and '.join(map(str, STATE_SUFFIX))}: retrain with `fraud train`"
        )
    names = manifest.get("feature_names")
    if not isinstance(names, list) or tuple(names) != FEATURE_NAMES:
        raise BundleError(
            f"bundle {root} was trained on other features than this fraudcli computes: retrain"
        )
    missing = {"thresholds", "store", "files", "checksum"} - set(manifest)
    if missing:
        raise BundleError(f"bundle {root}: manifest lacks {', '.join(sorted(missing))}")
    try:
        intact = manifest["checksum"] == _manifest_checksum(manifest)
    except (TypeError, ValueError, RecursionError):
        intact = False
    if not intact:
        raise BundleError(f"bundle {root}: manifest.json does not match its checksum (edited)")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
