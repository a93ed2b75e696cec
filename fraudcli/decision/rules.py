"""Rule expressions from fraud.toml, parsed safely and compiled once into Python closures.

A rule has a `name`, a `when` expression and an `action` (REVIEW or BLOCK):

    [[rules]]
    name = "card_testing_burst"
    when = "user_txn_count_1h >= 8 and amount < 5"
    action = "REVIEW"

`when` is a small whitelisted subset of Python expressions. It is parsed with
`ast.parse(when, mode="eval")` (by `rule_text.parse_when`, within its limits), checked node by
node and compiled into nested closures (the getters of `fraudcli.decision._getters`); Python
never evaluates the text itself. Allowed:

- `and`, `or`, `not`, parentheses;
- comparisons `< <= > >= == !=`, chains such as `0 < amount < 5`, and `in` / `not in` against a
  literal list, tuple or set of constants: `country in ["KP", "IR"]`;
- arithmetic `+ - * /` and unary minus, on numbers and truth values only: never on text (a
  string constant or a text field, TEXT_FIELDS), so `'a' * 10**11` cannot build a huge string;
- numbers, strings, `True`, `False`;
- names: feature names and record fields, checked against `allowed_names` when loading.

Anything else (calls, attributes, subscripts, lambdas, comprehensions, f-strings, `:=`, ...) is a
ConfigError naming the rule and the offending piece. So is an expression longer or deeper than
the limits of `fraudcli.decision.rule_text`, checked before and after parsing.

Missing values: a name whose value is None or absent (e.g. no country; every feature in the
rules-only fallback) is *unknown*, and so is anything computed from it, a division by zero, and an
ordering of mismatched types (`country < 3`). `and` / `or` / `not` use three-valued (SQL) logic:
`False and unknown` is False, `True or unknown` is True, `not unknown` is unknown. A rule fires only
when its expression is definitely true, so a comparison involving a missing value never fires a
rule, not even under `not`. NaN follows IEEE rules (every ordering with NaN is False).

Rules cannot ALLOW: the final decision is the most severe of the model's and the rules' actions,
so an ALLOW rule could never change anything and is refused rather than silently ignored.
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from fraudcli.decision._getters import (
    Getter,
    Values,
    all_of,
    any_of,
    arithmetic,
    chain,
    compare1,
    lookup,
    minus,
    name_compare,
    negation,
)
from fraudcli.decision.rule_text import code, parse_when, shown
from fraudcli.errors import ConfigError
from fraudcli.records.schema import STRING_FIELDS

RULE_ACTIONS = ("REVIEW", "BLOCK")
RULE_KEYS = frozenset({"name", "when", "action", "description"})
# The names whose values are text; every other name is a number (features, amount, lat, lon).
TEXT_FIELDS = frozenset(("transaction_id", "user_id", "country", *STRING_FIELDS))

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_ARITHMETIC[ast.Div] = operator.truediv
_COMPARISON = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_MEMBERSHIP = {ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
_FORBIDDEN = {
    ast.Call: "function calls",
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.JoinedStr: "f-strings",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.IfExp: "conditional expressions",
    ast.Dict: "dict literals",
    ast.Starred: "starred expressions",
}
_BOOLEAN_NODES = (ast.BoolOp, ast.Compare)


@dataclass(frozen=True)
class Rule:
    """A compiled rule. `predicate(values)` is True when the rule fires."""

    name: str
    when: str
    action: str
    predicate: Callable[[Values], bool] = field(repr=False, compare=False)
    names: frozenset[str] = frozenset()  # the names `when` reads


def compile_rule(
    name: str,
    when: str,
    action: str,
    allowed_names: Collection[str],
    text_names: Collection[str] = TEXT_FIELDS,
) -> Rule:
    """Check and compile one rule; ConfigError if anything about it is invalid.

    `text_names` are the allowed names whose values are text: no arithmetic may touch them.

    >>> rule = compile_rule("big", "amount > 1000", "BLOCK", {"amount"})
    >>> rule.predicate({"amount": 2500.0}), rule.predicate({"amount": None})
    (True, False)
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"every rule needs a non-empty string `name`, got {shown(name)}")
    if not isinstance(when, str) or not when.strip():
        raise ConfigError(f"rule {shown(name)}: `when` must be a non-empty string expression")
    compiler = _Compiler(name, frozenset(allowed_names), frozenset(text_names))
    predicate = compiler.predicate(parse_when(name, when))  # bounded: no RecursionError here
    return Rule(name, when, _action(name, action), predicate, frozenset(compiler.names))


def load_rules(
    rules_section: list[dict],
    allowed_names: Collection[str],
    text_names: Collection[str] = TEXT_FIELDS,
) -> list[Rule]:
    """Compile every `[[rules]]` table, in file order; names must be unique."""
    if not isinstance(rules_section, list):
        raise ConfigError("[[rules]] must be an array of tables")
    rules: list[Rule] = []
    for table in rules_section:
        if not isinstance(table, dict):
            raise ConfigError(f"each [[rules]] entry must be a table, got {shown(table)}")
        unknown = sorted(set(table) - RULE_KEYS)
        if unknown:
            where = f"rule {shown(table.get('name'))}"
            raise ConfigError(f"{where}: unknown key(s) {unknown}; expected {sorted(RULE_KEYS)}")
        name, when, action = table.get("name"), table.get("when"), table.get("action")
        rule = compile_rule(name, when, action, allowed_names, text_names)
        if any(r.name == rule.name for r in rules):
            raise ConfigError(f"rule {shown(rule.name)} is defined twice")
        rules.append(rule)
    return rules


def _action(name: str, action: object) -> str:
    normalised = action.strip().upper() if isinstance(action, str) else action
    if normalised == "ALLOW":
        raise ConfigError(
            f"rule {shown(name)}: action ALLOW is not supported: a decision is the most severe of "
            "the model's and the rules' actions, so a rule can only raise it (REVIEW or BLOCK)"
        )
    if not isinstance(normalised, str) or normalised not in RULE_ACTIONS:
        raise ConfigError(
            f"rule {shown(name)}: action must be REVIEW or BLOCK, got {shown(action)}"
        )
    return normalised


class _Compiler:
    """Walks one rule's AST, refusing anything off the whitelist, and builds closures."""

    def __init__(self, rule: str, allowed: frozenset[str], text: frozenset[str]) -> None:
        self.rule, self.allowed, self.text, self.names = rule, allowed, text, set()

    def fail(self, node: ast.AST, what: str) -> ConfigError:
        return ConfigError(f"rule {shown(self.rule)}: {what} not allowed: `{code(node)}`")

    def numeric(self, node: ast.expr, *operands: ast.expr) -> None:
        """Refuse arithmetic on text: `'a' * 10**11` or `merchant_category * 10**9` would build
        a string of gigabytes per record. Only constants and text fields are text: comparisons,
        `and`/`or`/`not` give truth values, arithmetic gives numbers."""
        for operand in operands:
            text_constant = isinstance(operand, ast.Constant) and isinstance(operand.value, str)
            if text_constant or (isinstance(operand, ast.Name) and operand.id in self.text):
                raise self.fail(node, f"arithmetic on text ({code(operand)} is text) is")

    def predicate(self, node: ast.expr) -> Callable[[Values], bool]:
        body = self.compile(node)
        if isinstance(node, _BOOLEAN_NODES) or _is_not(node):
            return lambda values: body(values) is True  # body gives True, False or None

        def truthy(values: Values) -> bool:
            result = body(values)
            return result is not None and bool(result)

        return truthy

    def compile(self, node: ast.expr) -> Getter:
        if isinstance(node, ast.BoolOp):
            parts = tuple(self.compile(value) for value in node.values)
            return all_of(parts) if isinstance(node.op, ast.And) else any_of(parts)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            self.numeric(node, node.left, node.right)
            return arithmetic(
                _ARITHMETIC[type(node.op)], self.compile(node.left), self.compile(node.right)
            )
        if isinstance(node, ast.Constant):
            value = self.constant(node)
            return lambda values: value
        if isinstance(node, ast.Name):
            return lookup(self.name(node))
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            raise self.fail(node, "a literal list outside `in [...]` is")
        if isinstance(node, ast.BinOp):
            raise self.fail(node, f"the operator {type(node.op).__name__} is")
        raise self.fail(node, f"{_FORBIDDEN.get(type(node), type(node).__name__)} are")

    def unary(self, node: ast.UnaryOp) -> Getter:
        if isinstance(node.op, ast.Not):
            return negation(self.compile(node.operand))
        if not isinstance(node.op, ast.USub):
            raise self.fail(node, f"the unary operator {type(node.op).__name__} is")
        if isinstance(node.operand, ast.Constant):
            value = -self.number(node.operand)
            return lambda values: value
        self.numeric(node, node.operand)
        return minus(self.compile(node.operand))

    def compare(self, node: ast.Compare) -> Getter:
        if any(type(op) in _MEMBERSHIP for op in node.ops):
            if len(node.ops) != 1:
                raise self.fail(node, "chaining `in` with other comparisons is")
            members = self.members(node.comparators[0])
            return compare1(_MEMBERSHIP[type(node.ops[0])], self.compile(node.left), members)
        for op in node.ops:
            if type(op) not in _COMPARISON:
                raise self.fail(node, f"the comparison {type(op).__name__} is")
        ops = tuple(_COMPARISON[type(op)] for op in node.ops)
        operands = tuple(self.compile(n) for n in (node.left, *node.comparators))
        if len(ops) == 1 and isinstance(node.comparators[0], ast.Constant):
            constant = self.constant(node.comparators[0])
            if isinstance(node.left, ast.Name):  # the usual `feature > 3`: one closure, no calls
                return name_compare(ops[0], node.left.id, constant)
            return compare1(ops[0], operands[0], constant)
        return chain(ops, operands)

    def members(self, node: ast.expr) -> frozenset:
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            raise self.fail(node, "`in` needs a literal list of constants; anything else is")
        values = []
        for element in node.elts:
            negative = isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.USub)
            if negative and isinstance(element.operand, ast.Constant):
                values.append(-self.number(element.operand))
            elif isinstance(element, ast.Constant):
                values.append(self.constant(element))
            else:
                raise self.fail(element, "inside `in [...]`, non-constants are")
        return frozenset(values)

    def constant(self, node: ast.Constant) -> object:
        if isinstance(node.value, (bool, int, float, str)):
            return node.value
        raise self.fail(node, f"the constant {shown(node.value)} is")

    def number(self, node: ast.Constant) -> float:
        value = self.constant(node)
        if isinstance(value, str):
            raise self.fail(node, "a negative string is")
        return value

    def name(self, node: ast.Name) -> str:
        if node.id not in self.allowed:
            close = difflib.get_close_matches(node.id, sorted(self.allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"rule {shown(self.rule)}: unknown name {shown(node.id)}{hint}")
        self.names.add(node.id)
        return node.id


def _is_not(node: ast.expr) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
