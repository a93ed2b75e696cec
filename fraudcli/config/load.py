"""fraud.toml: the shipped defaults, overridden by the user's file, in one frozen object.

Search order: `--config FILE` if given, else `./fraud.toml` if present. Tables merge key by key
over the defaults; `[[rules]]` with a default rule's name replace it, new names are added. The
user's file is read by `config_file.read_toml` and checked against `config_schema.SCHEMA` before
the merge, and the merged result after it, so everything below reads valid values.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from fraudcli.config.file import read_toml
from fraudcli.config.schema import check_config
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
        user = read_toml(user_path)
        _checked(user, user_path)
        data = _checked(merge(data, user), user_path)
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


def _checked(data: dict, path: Path) -> dict:
    """`data`, if it matches the schema; else the schema's ConfigError, naming the file."""
    try:
        check_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return data


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
    features = data.get("features", {})  # types and ranges checked against the schema
    delay = float(features.get("label_delay_days", 7.0))
    lateness = float(features.get("lateness_days", 1.0))
    window = features.get("dedupe_window_days")
    dedupe = None if window is None else float(window) * DAY
    return StoreConfig(label_delay=delay * DAY, lateness=lateness * DAY, dedupe_window=dedupe)


def _policy(data: dict) -> Policy:
    policy = data.get("policy", {})  # types and ranges checked against the schema
    budget = policy.get("review_budget_per_day", 50)
    precision = policy.get("block_precision", 0.9)
    fraction = policy.get("validation_fraction", 0.2)
    return Policy(int(budget), float(precision), float(fraction))
