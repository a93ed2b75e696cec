"""The decision: the model's score against two thresholds, then block lists and rules, with reasons.

    p >= block -> BLOCK,  p >= review -> REVIEW,  else ALLOW      (review <= block)

Either threshold may be "off" (None): the model then never reviews, or never blocks, by score.
Optionally, an expected-loss policy on top: p x amount > block_cost -> BLOCK, > review_cost ->
REVIEW (each "off" unless set in `[policy]`). With calibrated probabilities, p x amount is the
loss expected from letting the transaction through, so reviewing exactly when it exceeds the
cost of a review is the decision that minimises the expected loss.

A block-list hit is a BLOCK; a fired rule contributes its action (REVIEW or BLOCK). The final
decision is the most severe of all of these, so nothing can lower the model's decision.

Reasons, in this order (the hard evidence first):
    "blocklist:country=KP"                 each block-list hit (user, merchant, country, device)
    "rule:card_testing_burst"              each fired rule, in file order
    "score>=block" / "score>=review"       the threshold the model's score crossed, if any
    "expected_loss>block_cost" / "expected_loss>review_cost"   the loss policy's, if any
    "model:amount_to_user_mean_30d=+1.23"  up to 3 largest positive contributions (log-odds) above
                                           CONTRIBUTION_FLOOR, when the caller passes them
The rules-only fallback starts with "degraded:rules-only" and has no score or model reasons.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from fraudcli.decision.rules import Rule, load_rules
from fraudcli.errors import ConfigError

ALLOW, REVIEW, BLOCK = "ALLOW", "REVIEW", "BLOCK"
DECISIONS = (ALLOW, REVIEW, BLOCK)  # index = severity
SEVERITY = {name: level for level, name in enumerate(DECISIONS)}
OFF = "off"  # a threshold or cost that is switched off, in fraud.toml and the bundle
TOP_CONTRIBUTIONS = 3
CONTRIBUTION_FLOOR = 0.01  # below this a feature explains too little to be worth a reason
DEGRADED_REASON = "degraded:rules-only"

# block-list key -> (record field it is matched against, label in the reason)
BLOCKLIST_FIELDS = {
    "users": ("user_id", "user"),
    "merchants": ("merchant_id", "merchant"),
    "countries": ("country", "country"),
    "devices": ("device_id", "device"),
}


class Decision(NamedTuple):
    """What happens to one transaction, and why.

    `fraud_probability` is None when no model score was available (the rules-only fallback,
    `degraded=True`): None rather than NaN so it is a JSON null and cannot pass for a score.
    A NamedTuple: immutable, and four times cheaper to make than a frozen dataclass (one is
    made per record).
    """

    decision: str
    fraud_probability: float | None
    reasons: tuple[str, ...] = ()
    degraded: bool = False


@dataclass(frozen=True)
class Thresholds:
    """Model score cut-offs, 0 <= review <= block <= 1 (review == block means no REVIEW band),
    and the expected-loss cut-offs, in the currency of `amount`. Any of them may be None: off
    (written "off" in fraud.toml and in the bundle)."""

    review: float | None = 0.5
    block: float | None = 0.9
    review_cost: float | None = None
    block_cost: float | None = None

    def __post_init__(self) -> None:
        for name in ("review", "block", "review_cost", "block_cost"):
            what = f"threshold `{name}`" if name in ("review", "block") else f"[policy] {name}"
            object.__setattr__(self, name, _number(getattr(self, name), what))
        review = 0.0 if self.review is None else self.review
        block = 1.0 if self.block is None else self.block
        if not 0.0 <= review <= block <= 1.0:
            raise ConfigError(
                f"thresholds need 0 <= review <= block <= 1, got review={self.review}, "
                f"block={self.block}"
            )
        for name in ("review_cost", "block_cost"):
            if (getattr(self, name) or 0.0) < 0.0:
                raise ConfigError(f"[policy] {name} must be >= 0 or {OFF!r}")

    @classmethod
    def from_config(
        cls, section: Mapping[str, object], policy: Mapping[str, object] | None = None
    ) -> Thresholds:
        """From the `[thresholds]` table (a missing key keeps its default) and the costs of the
        `[policy]` table (off when absent)."""
        _check_keys(section, {"review", "block"}, "thresholds")
        policy = policy or {}
        costs = {key: policy.get(key, OFF) for key in ("review_cost", "block_cost")}
        return cls(**section, **costs)

    @property
    def loss_policy(self) -> bool:
        return self.review_cost is not None or self.block_cost is not None

    def cutoffs(self) -> dict[str, float | str]:
        """The score thresholds as the bundle stores them: a probability or "off" each."""
        return {
            k: OFF if v is None else v for k, v in (("review", self.review), ("block", self.block))
        }

    def to_dict(self) -> dict[str, float | str]:
        """Everything, "off" where off (reports and --json)."""
        costs = {"review_cost": self.review_cost, "block_cost": self.block_cost}
        return self.cutoffs() | {k: OFF if v is None else v for k, v in costs.items()}


def _number(value: object, what: str) -> float | None:
    """A finite number, or None for "off" (or None)."""
    if value is None or value == OFF:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number or {OFF!r}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{what} must be finite, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Blocklists:
    """Values that BLOCK on sight. Countries are ISO codes, matched upper-case like records."""

    users: frozenset[str] = frozenset()
    merchants: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for key in BLOCKLIST_FIELDS:
            values = getattr(self, key)
            if isinstance(values, str) or not isinstance(values, Iterable):
                raise ConfigError(f"[blocklists] {key} must be a list of strings, got {values!r}")
            values = list(values)
            bad = [v for v in values if not isinstance(v, str)]
            if bad:
                message = f"[blocklists] {key} must hold strings (quote ids), got {bad[0]!r}"
                raise ConfigError(message)
            if key == "countries":
                values = [v.strip().upper() for v in values]
            object.__setattr__(self, key, frozenset(values))

    @classmethod
    def from_config(cls, section: Mapping[str, object]) -> Blocklists:
        """From the `[blocklists]` table; a missing key is an empty list."""
        _check_keys(section, set(BLOCKLIST_FIELDS), "blocklists")
        return cls(**section)

    def checks(self) -> tuple[tuple[str, str, frozenset[str]], ...]:
        """(record field, reason label, values) for every non-empty list."""
        return tuple(
            (field, label, getattr(self, key))
            for key, (field, label) in BLOCKLIST_FIELDS.items()
            if getattr(self, key)
        )


class DecisionEngine:
    """Thresholds + rules + block lists -> Decision. Built once, then `decide` per record."""

    def __init__(
        self,
        thresholds: Thresholds,
        rules: Sequence[Rule] = (),
        blocklists: Blocklists | None = None,
    ) -> None:
        self.thresholds = thresholds
        self.rules = tuple(rules)
        self.blocklists = blocklists if blocklists is not None else Blocklists()
        # flattened once so the per-record loop touches only locals and tuples
        self._rules = tuple((r.predicate, f"rule:{r.name}", SEVERITY[r.action]) for r in self.rules)
        self._lists = self.blocklists.checks()
        # every name `decide` may look up in `values`: the rules' names, block-listed fields,
        # and the amount when the loss policy is on
        self.names = frozenset(field for field, _, _ in self._lists).union(
            *(rule.names for rule in self.rules), ("amount",) if thresholds.loss_policy else ()
        )
        off = math.inf  # a cut-off nothing reaches; it never leaves this object
        self._review = off if thresholds.review is None else thresholds.review
        self._block = off if thresholds.block is None else thresholds.block
        self._loss = thresholds.loss_policy
        self._review_cost = off if thresholds.review_cost is None else thresholds.review_cost
        self._block_cost = off if thresholds.block_cost is None else thresholds.block_cost

    @classmethod
    def from_config(
        cls, config: Mapping[str, object], allowed_names: Collection[str]
    ) -> DecisionEngine:
        """From parsed fraud.toml: `[thresholds]`, `[blocklists]`, `[[rules]]` (all optional)."""
        thresholds = Thresholds.from_config(_table(config, "thresholds"), _table(config, "policy"))
        blocklists = Blocklists.from_config(_table(config, "blocklists"))
        rules = load_rules(config.get("rules", []), allowed_names)
        return cls(thresholds, rules, blocklists)

    def with_thresholds(self, thresholds: Thresholds) -> DecisionEngine:
        """The same rules and block lists with other thresholds (e.g. the model bundle's)."""
        return DecisionEngine(thresholds, self.rules, self.blocklists)

    def decide(
        self,
        probability: float,
        values: Mapping[str, object],
        contributions: Sequence[tuple[str, float]] | None = None,
    ) -> Decision:
        """Decide one record from its score, its features and fields (`values`), and optionally
        the model's per-feature contributions (used only for reasons)."""
        p = float(probability)
        if not 0.0 <= p <= 1.0:  # a NaN score must not slip through as ALLOW
            raise ValueError(f"fraud_probability must be in [0, 1], got {probability!r}")
        reasons, severity = self._flags(values)
        if p >= self._block:
            reasons.append("score>=block")
            severity = 2
        elif p >= self._review:
            reasons.append("score>=review")
            severity = max(severity, 1)
        if self._loss:
            severity = self._expected_loss(p, values.get("amount"), reasons, severity)
        if contributions:
            reasons.extend(model_reasons(contributions))
        return Decision(DECISIONS[severity], p, tuple(reasons))

    def _expected_loss(self, p: float, amount, reasons: list[str], severity: int) -> int:
        """The loss policy: p x amount against the costs of a block and of a review."""
        if amount is None:
            return severity
        loss = p * amount
        if loss > self._block_cost:
            reasons.append("expected_loss>block_cost")
            return 2
        if loss > self._review_cost:
            reasons.append("expected_loss>review_cost")
            return max(severity, 1)
        return severity

    def decide_rules_only(self, values: Mapping[str, object]) -> Decision:
        """The fallback when no score is available in time: block lists and rules on what
        `values` holds (usually the record's own fields). A rule needing an absent feature is
        unknown and does not fire, unless the rest decides it (`amount > 5000 or <feature>`)."""
        reasons, severity = self._flags(values)
        return Decision(DECISIONS[severity], None, (DEGRADED_REASON, *reasons), degraded=True)

    def _flags(self, values: Mapping[str, object]) -> tuple[list[str], int]:
        reasons: list[str] = []
        severity = 0
        for field, label, members in self._lists:
            value = values.get(field)
            if value in members:
                reasons.append(f"blocklist:{label}={value}")
                severity = 2
        for predicate, reason, level in self._rules:
            if predicate(values):
                reasons.append(reason)
                if level > severity:
                    severity = level
        return reasons, severity


def model_reasons(contributions: Iterable[tuple[str, float]]) -> list[str]:
    """The largest positive contributions above the floor, as `model:name=+1.23` (max 3).

    >>> model_reasons([("amount", 0.4), ("is_night", -2.0), ("hour_sin", 1.5)])
    ['model:hour_sin=+1.50', 'model:amount=+0.40']
    """
    positive = [(value, name) for name, value in contributions if value > CONTRIBUTION_FLOOR]
    positive.sort(key=lambda pair: -pair[0])  # stable: ties keep the model's feature order
    return [f"model:{name}={value:+.2f}" for value, name in positive[:TOP_CONTRIBUTIONS]]


def _table(config: Mapping[str, object], key: str) -> Mapping[str, object]:
    table = config.get(key, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{key}] must be a table")
    return table


def _check_keys(section: Mapping[str, object], known: set[str], table: str) -> None:
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"[{table}] unknown key(s) {unknown}; expected {sorted(known)}")
