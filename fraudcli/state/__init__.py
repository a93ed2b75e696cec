"""Feature state that lives on between runs: a directory of Parquet tables and a manifest
(`--state PATH`), written atomically, verified when read."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "State": "directory",
    "is_state": "directory",
    "read_state": "directory",
    "stage_state": "directory",
    "write_state": "directory",
    "sign_manifest": "signing",
    "verify_manifest": "signing",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
