"""The seal on a state's manifest: what `sign_manifest` adds and `verify_manifest` checks.

Always a SHA-256 of the manifest's body (every other key, its file checksums included), which
catches corruption and careless edits; and, when the run has a signing key (`--signing-key`,
`FRAUD_SIGNING_KEY_FILE`, `FRAUD_SIGNING_KEY`: the key that signs bundles), an HMAC-SHA256 of
the same body made with it. A run with a key refuses a state without that HMAC (exit 4), as it
refuses such a bundle; the HMAC's domain differs from a bundle's, so neither manifest passes
for the other. Whoever holds the key can sign (README, "Security").
"""

from __future__ import annotations

import hashlib
import hmac
import json

from fraudcli.bundle.signing import SigningKey, active_trust
from fraudcli.errors import StateError

SEAL = "seal"
DOMAIN = b"fraudcli-state-manifest-v1\n"


def _body(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != SEAL}
    return json.dumps(body, sort_keys=True, allow_nan=False).encode()


def _hmac(key: SigningKey, body: bytes) -> str:
    return hmac.new(key.secret, DOMAIN + body, hashlib.sha256).hexdigest()


def sign_manifest(manifest: dict, key: SigningKey | None = None) -> dict:
    """`manifest` with its seal (signed with `key`, default: the running command's)."""
    key = key or active_trust().key
    body = _body(manifest)
    seal = {"kind": "sha256", "value": hashlib.sha256(body).hexdigest()}
    if key is not None:
        seal |= {"hmac": _hmac(key, body), "key_id": key.key_id}
    return manifest | {SEAL: seal}


def verify_manifest(manifest: dict, where: str, key: SigningKey | None = None) -> None:
    """StateError unless the seal matches the manifest's body and, with a key (default: the
    running command's), carries an HMAC made with it."""
    seal = manifest.get(SEAL)
    if not isinstance(seal, dict) or seal.get("kind") != "sha256":
        raise StateError(f"state {where}: manifest.json has no seal it can check (edited?)")
    body = _body(manifest)
    if seal.get("value") != hashlib.sha256(body).hexdigest():
        raise StateError(f"state {where}: manifest.json does not match its seal (edited)")
    key = key or active_trust().key
    if key is None:
        return
    value = seal.get("hmac")
    if not isinstance(value, str):
        raise StateError(f"state {where} is not signed, and a signing key is set ({key.source})")
    if not hmac.compare_digest(_hmac(key, body).encode(), value.encode("utf-8", "replace")):
        raise StateError(
            f"state {where}: its signature does not match the key {key.key_id}: forged, "
            "edited, or signed with another key"
        )
