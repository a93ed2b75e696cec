"""Bundle signatures: HMAC-SHA256 of the canonical manifest, under a key only its holders have.

A manifest's checksums prove that the files agree with it, not who wrote it: anyone can edit
`model.json` and recompute them. A signature can only be made with the key, so a scorer holding
the key refuses a bundle that was not signed with it.

    key        at least 32 bytes: the contents of `--signing-key FILE`, else of the file named by
               FRAUD_SIGNING_KEY_FILE, else the text of FRAUD_SIGNING_KEY (surrounding whitespace
               stripped; both variables at once is an error). e.g. `openssl rand -hex 32 > key`
    message    b"fraudcli-model-manifest-v1\\n" + the manifest without "checksum" and "signature",
               as JSON with sorted keys, separators "," and ":", ASCII only, no NaN
    signature  manifest["signature"] = {"algorithm": "HMAC-SHA256", "key_id": 16 hex digits,
               "value": 64 hex digits}; key_id = HMAC(key, "fraudcli-key-id"), which names a key
               without revealing it

The manifest lists the SHA-256 of every other file, so signing it covers the whole bundle.
`Trust` is what the running command was told to require: a key and, optionally, the bundle id.
It is process-wide (not a context variable) so that a bundle loaded on any thread is checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fraudcli.errors import BundleError, UsageError

ALGORITHM = "HMAC-SHA256"
DOMAIN = b"fraudcli-model-manifest-v1\n"
MIN_KEY_BYTES = 32
MAX_KEY_BYTES = 4096
KEY_FILE_ENV = "FRAUD_SIGNING_KEY_FILE"
KEY_ENV = "FRAUD_SIGNING_KEY"
UNSIGNED = ("checksum", "signature")  # the manifest keys the signature does not cover


@dataclass(frozen=True)
class SigningKey:
    """A secret key and where it came from (the secret is never in a repr or a message)."""

    secret: bytes = field(repr=False)
    source: str = ""

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, b"fraudcli-key-id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Trust:
    """What a loaded bundle must satisfy: signed with `key`; manifest SHA-256 starting `expect`."""

    key: SigningKey | None = None
    expect: str | None = None


_active = Trust()


def active_trust() -> Trust:
    return _active


@contextmanager
def trusting(trust: Trust) -> Iterator[Trust]:
    """Require `trust` of every bundle loaded (and sign with its key) inside the block."""
    global _active
    before, _active = _active, trust
    try:
        yield trust
    finally:
        _active = before


def signing_key(path: Path | None = None, environ: Mapping[str, str] = os.environ):
    """The key from `path`, else from the environment; None when none is configured."""
    if path is not None:
        return _key(_read_key_file(path), f"--signing-key {path}")
    named, inline = environ.get(KEY_FILE_ENV), environ.get(KEY_ENV)
    if named and inline:
        raise UsageError(f"set {KEY_FILE_ENV} or {KEY_ENV}, not both")
    if named:
        return _key(_read_key_file(Path(named)), f"{KEY_FILE_ENV}={named}")
    if inline:
        return _key(inline.encode("utf-8", "surrogateescape"), KEY_ENV)
    return None


def _read_key_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as stream:
            return stream.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the signing key file {path}: {exc.strerror}") from None


def _key(secret: bytes, source: str) -> SigningKey:
    secret = secret.strip()
    if not MIN_KEY_BYTES <= len(secret) <= MAX_KEY_BYTES:
        raise UsageError(
            f"the signing key ({source}) must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, "
            f"e.g. made by `openssl rand -hex 32`"
        )
    return SigningKey(secret, source)


def canonical(manifest: Mapping) -> bytes:
    """The signed bytes of `manifest`: its fields but the checksum and the signature."""
    body = {k: v for k, v in manifest.items() if k not in UNSIGNED}
    body = json.loads(json.dumps(body))  # as it will be read back: int keys become text...
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return DOMAIN + text.encode("ascii")


def sign(manifest: Mapping, key: SigningKey) -> dict:
    """The "signature" entry for `manifest`."""
    value = hmac.new(key.secret, canonical(manifest), hashlib.sha256).hexdigest()
    return {"algorithm": ALGORITHM, "key_id": key.key_id, "value": value}


def verify(manifest: Mapping, key: SigningKey, where: str) -> None:
    """Raise BundleError unless `manifest` carries a valid signature made with `key`."""
    signature = manifest.get("signature")
    if signature is None:
        raise BundleError(f"{where} is not signed, and a signing key is set ({key.source})")
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        raise BundleError(f"{where}: its signature is malformed (expected {ALGORITHM})")
    value, key_id = signature.get("value"), signature.get("key_id")
    if not isinstance(value, str) or not isinstance(key_id, str):
        raise BundleError(f"{where}: its signature is malformed (expected {ALGORITHM})")
    try:
        message = canonical(manifest)
    except (TypeError, ValueError, RecursionError):
        raise BundleError(f"{where}: its manifest cannot be put in canonical form") from None
    expected = hmac.new(key.secret, message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), value.encode("utf-8", "replace")):
        named = key_id != key.key_id and re.fullmatch("[0-9a-f]{16}", key_id)
        other = f" (it names key {key_id})" if named else ""
        raise BundleError(
            f"{where}: the signature does not match the key {key.key_id} ({key.source}): "
            f"forged, edited, or signed with another key{other}"
        )
