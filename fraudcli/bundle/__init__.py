"""Model bundles: the directory `fraud train` writes (`model_bundle`: save, load, verify), the
shapes its files must have (`shapes`, `state_tables`), bounded reading (`read`), and HMAC
signing (`signing`)."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_MODEL_DIR": "model_bundle",
    "MANIFEST": "model_bundle",
    "Bundle": "model_bundle",
    "BundleInfo": "model_bundle",
    "bundle_id": "model_bundle",
    "inspect_bundle": "model_bundle",
    "load_bundle": "model_bundle",
    "read_manifest": "model_bundle",
    "save_bundle": "model_bundle",
    "sha256_file": "model_bundle",
    "SigningKey": "signing",
    "Trust": "signing",
    "active_trust": "signing",
    "sign": "signing",
    "signing_key": "signing",
    "trusting": "signing",
    "verify": "signing",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
