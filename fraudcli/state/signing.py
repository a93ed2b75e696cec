"""The seal on a state's manifest: what `sign_manifest` adds and `verify_manifest` checks.

Today a SHA-256 of the manifest's body (every other key, its file checksums included), which
catches corruption and careless edits. When bundles are signed (an HMAC with a key), this is
the one place to make states signed alike: the manifest's `seal` says which kind it carries.
"""

from __future__ import annotations

import hashlib
import json

from fraudcli.errors import StateError

SEAL = "seal"


def _body(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != SEAL}
    return json.dumps(body, sort_keys=True, allow_nan=False).encode()


def sign_manifest(manifest: dict) -> dict:
    """`manifest` with its seal."""
    return manifest | {
        SEAL: {"kind": "sha256", "value": hashlib.sha256(_body(manifest)).hexdigest()}
    }


def verify_manifest(manifest: dict, where: str) -> None:
    """StateError unless the seal matches the manifest's body."""
    seal = manifest.get(SEAL)
    if not isinstance(seal, dict) or seal.get("kind") != "sha256":
        raise StateError(f"state {where}: manifest.json has no seal it can check (edited?)")
    if seal.get("value") != hashlib.sha256(_body(manifest)).hexdigest():
        raise StateError(f"state {where}: manifest.json does not match its seal (edited)")
