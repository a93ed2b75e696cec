"""The one declared schema of fraud.toml, and the check of a parsed document against it.

    check_config(doc)       # ConfigError naming the first bad key, e.g.
    # [policy] review_budget_per_day must be a finite number >= 1, got inf

Every table, key, type and range fraud.toml may hold is in SCHEMA; anything else is an error
(an unknown key names itself and, for a near miss, the key it was probably meant to be). The
user's file is checked before it is merged over the shipped defaults (so a rule named by a list
never reaches the merge), and the merged result again (so `review <= block` holds across both).
Whether a rule's `when` is a valid expression is for the rule compiler
(`fraudcli.decision.rules`), which also names the rule.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from fraudcli.decision.engine import BLOCKLIST_FIELDS
from fraudcli.decision.rule_text import shown
from fraudcli.errors import ConfigError
from fraudcli.records.schema import FIELDS

MAX_RULE_NAME = 200  # characters: a name is written into every decision it flags


@dataclass(frozen=True)
class Number:
    """A finite number (never a boolean) within [low, high]; an open end excludes its bound."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def check(self, where: str, value: object) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not _finite(value) or not self._within(value):
            raise ConfigError(f"{where} must be {self.describe()}, got {shown(value)}")

    def _within(self, value: float) -> bool:
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        if self.high is None:
            return f"a finite number {'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"a finite number in {left}{self.low:g}, {self.high:g}{right}"


@dataclass(frozen=True)
class NumberOrOff(Number):
    """A `Number`, or the word "off" (a threshold or cost switched off)."""

    def check(self, where: str, value: object) -> None:
        if value != "off":
            try:
                super().check(where, value)
            except ConfigError:
                raise ConfigError(
                    f'{where} must be {self.describe()} or "off", got {shown(value)}'
                ) from None


@dataclass(frozen=True)
class Text:
    """A string; `required` = not empty (nor blank), `max_chars` bounds its length."""

    required: bool = True
    max_chars: int | None = None

    def check(self, where: str, value: object) -> None:
        if not isinstance(value, str) or (self.required and not value.strip()):
            raise ConfigError(f"{where} must be {self.describe()}, got {shown(value)}")
        if self.max_chars is not None and len(value) > self.max_chars:
            raise ConfigError(
                f"{where} must be at most {self.max_chars} characters, got {shown(value)}"
            )

    def describe(self) -> str:
        return "a non-empty string" if self.required else "a string"


@dataclass(frozen=True)
class TextList:
    """An array of strings (ids: quote numbers)."""

    def check(self, where: str, value: object) -> None:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be an array of strings, got {shown(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(
                    f"{where} must hold strings (quote ids), got {shown(item)} at position {i + 1}"
                )


Spec = Number | Text | TextList


@dataclass(frozen=True)
class Table:
    """A TOML table with these keys (all optional unless `required`); `rule` checks the table
    as a whole once its keys are valid."""

    keys: Mapping[str, Spec]
    required: frozenset[str] = frozenset()
    rule: Callable[[str, Mapping], None] | None = field(default=None, compare=False)

    def check(self, where: str, value: object) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"{where.rstrip(':')} must be a table, got {shown(value)}")
        _known_keys(where, value, self.keys)
        missing = sorted(self.required - set(value))
        if missing:
            raise ConfigError(f"{where} needs {', '.join(missing)}")
        for key, item in value.items():
            self.keys[key].check(f"{where} {key}", item)
        if self.rule is not None:
            self.rule(where, value)


@dataclass(frozen=True)
class TableArray:
    """An array of tables (`[[rules]]`) whose `unique` key differs from entry to entry."""

    item: Table
    unique: str

    def check(self, where: str, value: object) -> None:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be an array of tables, got {shown(value)}")
        seen: set[str] = set()
        for i, entry in enumerate(value):
            name = entry.get(self.unique) if isinstance(entry, dict) else None
            label = f"rule {shown(name)}" if isinstance(name, str) else f"{where} entry {i + 1}"
            self.item.check(f"{label}:", entry)
            if name in seen:
                raise ConfigError(f"{label} is defined twice in one file")
            seen.add(name)


def _review_not_above_block(where: str, table: Mapping) -> None:
    review, block = table.get("review"), table.get("block")
    if isinstance(review, (int, float)) and isinstance(block, (int, float)) and review > block:
        raise ConfigError(f"{where} review ({review:g}) must not be above block ({block:g})")


_FRACTION = Number(0.0, 1.0)
_FRACTION_OR_OFF = NumberOrOff(0.0, 1.0)
_DAYS = Number(0.0, 3650.0)  # ten years: anything longer is a typo, and `inf` never ends

SCHEMA: Mapping[str, Table | TableArray] = {
    "thresholds": Table(
        {"review": _FRACTION_OR_OFF, "block": _FRACTION_OR_OFF}, rule=_review_not_above_block
    ),
    "policy": Table(
        {
            "review_budget_per_day": Number(1.0),
            "block_precision": Number(0.0, 1.0, low_open=True),
            "validation_fraction": Number(0.0, 1.0, low_open=True, high_open=True),
            "review_cost": NumberOrOff(0.0),
            "block_cost": NumberOrOff(0.0),
        }
    ),
    "features": Table(
        {"label_delay_days": _DAYS, "lateness_days": _DAYS, "dedupe_window_days": _DAYS}
    ),
    "columns": Table(dict.fromkeys(FIELDS, Text())),
    "blocklists": Table(dict.fromkeys(BLOCKLIST_FIELDS, TextList())),
    "rules": TableArray(
        Table(
            {
                "name": Text(max_chars=MAX_RULE_NAME),
                "when": Text(),
                "action": Text(),
                "description": Text(required=False),
            },
            required=frozenset({"name", "when", "action"}),
        ),
        unique="name",
    ),
}


def check_config(doc: Mapping[str, object]) -> None:
    """ConfigError naming the first key of `doc` that SCHEMA does not allow."""
    for key, value in doc.items():
        if key not in SCHEMA:
            raise ConfigError(_unknown("", key, SCHEMA, table=True))
        where = "[[rules]]" if key == "rules" else f"[{key}]"
        SCHEMA[key].check(where, value)


def _known_keys(where: str, table: Mapping, known: Mapping) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(_unknown(where, key, known))


def _unknown(where: str, key: str, known: Mapping, table: bool = False) -> str:
    """`[policy] unknown key 'review_budget' (did you mean 'review_budget_per_day'?); ...`"""
    names = sorted(known)
    close = difflib.get_close_matches(key, names, n=1)
    if table:  # a top-level key is a table to the reader: [thresholds]
        label = f"[{key}]" if len(key) <= 60 else shown(key)
        hint = f" (did you mean [{close[0]}]?)" if close else ""
        expected = ", ".join(f"[{name}]" for name in names)
        return f"unknown table {label}{hint}; expected one of {expected}"
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{where} unknown key {shown(key)}{hint}; expected one of {', '.join(names)}"


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False
