"""`fraud.toml`: the shipped defaults merged with the user's file (`load`), read within limits
(`file`) and checked against one declared schema (`schema`)."""

from __future__ import annotations

from fraudcli._lazy import lazy_exports

_EXPORTS = {
    "read_toml": "file",
    "Config": "load",
    "Policy": "load",
    "load_config": "load",
    "merge": "load",
    "parse_mapping": "load",
    "check_config": "schema",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
