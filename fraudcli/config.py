"""fraud.toml: the shipped defaults, overridden by the user's file, in one frozen object.

Search order: `--config FILE` if given, else `./fraud.toml` if present. Tables merge key by key
over the defaults; `[[rules]]` with a default rule's name replace it, new names are added.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fraudcli.errors import ConfigError
from fraudcli.features.spec import DAY
from fraudcli.features.store import StoreConfig
from fraudcli.records.schema import ColumnMap

USER_CONFIG = Path("fraud.toml")


@dataclass(frozen=True)
class Policy:
    """How `fraud train` picks thresholds on validation data."""

    review_budget_per_day: int = 50
    block_precision: float = 0.9
    validation_fraction: float = 0.2


@dataclass(frozen=True)
class Config:
    data: dict
    columns: ColumnMap = field(default_factory=ColumnMap)
    store: StoreConfig = field(default_factory=StoreConfig)
    policy: Policy = field(default_factory=Policy)
    sources: tuple[str, ...] = ()
    user_keys: frozenset[str] = frozenset()  # top-level tables the user's file sets


def load_config(path: str | Path | None = None, mapping: list[str] | None = None) -> Config:
    """Defaults <- fraud.toml (or `path`) <- `--map field=COLUMN` options."""
    data = _read_defaults()
    sources, user = ["defaults"], {}
    user_path = Path(path) if path else (USER_CONFIG if USER_CONFIG.is_file() else None)
    if user_path is not None:
        user = _read_toml(user_path)
        data = merge(data, user)
        sources.append(str(user_path))
    columns = dict(data.get("columns", {}))
    columns |= parse_mapping(mapping or [])
    try:
        column_map = ColumnMap.from_dict(columns)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    store, policy = _store_config(data), _policy(data)
    return Config(data, column_map, store, policy, tuple(sources), frozenset(user))


def _read_defaults() -> dict:
    text = resources.files("fraudcli").joinpath("defaults/fraud.toml").read_text("utf-8")
    return tomllib.loads(text)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def merge(base: dict, override: dict) -> dict:
    """Tables merge key by key; rules merge by name; anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if key == "rules":
            out[key] = _merge_rules(base.get("rules", []), value)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merge(base[key], value)
        else:
            out[key] = value
    return out


def _merge_rules(base: list, override: object) -> list:
    if not isinstance(override, list) or not all(isinstance(r, dict) for r in override):
        raise ConfigError("[[rules]] must be an array of tables")
    by_name = {rule.get("name"): rule for rule in base}
    for rule in override:
        by_name[rule.get("name")] = rule
    return list(by_name.values())


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`--map user_id=CUSTOMER_ID` options -> {"user_id": "CUSTOMER_ID"}."""
    out = {}
    for pair in pairs:
        field_name, sep, column = pair.partition("=")
        if not sep or not field_name.strip() or not column.strip():
            raise ConfigError(f"--map expects FIELD=COLUMN, got {pair!r}")
        out[field_name.strip()] = column.strip()
    return out


def _store_config(data: dict) -> StoreConfig:
    features = data.get("features", {})
    delay = _number(features, "label_delay_days", 7.0, "features")
    lateness = _number(features, "lateness_days", 1.0, "features")
    window = features.get("dedupe_window_days")
    if window is not None:
        window = _number(features, "dedupe_window_days", 0.0, "features")
    if delay < 0 or lateness < 0 or (window is not None and window < 0):
        raise ConfigError(
            "[features] label_delay_days, lateness_days and dedupe_window_days must be >= 0"
        )
    dedupe = None if window is None else window * DAY
    return StoreConfig(label_delay=delay * DAY, lateness=lateness * DAY, dedupe_window=dedupe)


def _policy(data: dict) -> Policy:
    policy = data.get("policy", {})
    budget = _number(policy, "review_budget_per_day", 50, "policy")
    precision = _number(policy, "block_precision", 0.9, "policy")
    fraction = _number(policy, "validation_fraction", 0.2, "policy")
    if budget < 1 or not 0 < precision <= 1 or not 0 < fraction < 1:
        raise ConfigError(
            "[policy] needs review_budget_per_day >= 1, 0 < block_precision <= 1, "
            "0 < validation_fraction < 1"
        )
    return Policy(int(budget), float(precision), float(fraction))


def _number(table: dict, key: str, default: float, section: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"[{section}] {key} must be a number, got {value!r}")
    return float(value)
