"""Block lists and rules over whole columns: which rows of a batch the decision engine would flag.

    flags = VectorFlags(engine)          # once: parses each rule's `when` again
    flagged = flags.mask(column, n)      # per batch: bool[n]

`flagged[i]` is True exactly when the one-record engine would give row i at least one reason (a
block-list hit or a fired rule), so the vectorised scorer re-decides only those rows one by one,
to write their reasons. `column(name)` returns one column of the batch; it is called at most once
per name and only for names in `flags.names`. Columns follow the batch conventions: features and
`amount` are float64; `lat` and `lon` are float64 with NaN for a missing value; string fields are
object arrays with None for a missing value.

Each rule's `when` is compiled here into a function of the batch; the values it computes (a
`Vec` per sub-expression, with the semantics of `fraudcli.decision.rules`) are the array maths of
`fraudcli.decision._vector_values`.

Two shapes cannot be computed exactly in float64: an integer constant float64 cannot hold, and
integer arithmetic (on comparison results and integer constants) that could pass 2**53. A rule
containing one is evaluated row by row with its own predicate instead: still exact, but about
1 us a row. `flags.row_by_row` names such rules. (Arithmetic on text is refused when a rule is
compiled; a Rule made by hand with some would go row by row too.)
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from fraudcli.decision._vector_values import (
    Awkward,
    Vec,
    arithmetic,
    constant_vec,
    is_float,
    isin_strings,
    link,
    logic,
    membership,
    negation,
    negative,
    true,
)
from fraudcli.decision.engine import DecisionEngine
from fraudcli.decision.rule_text import parse_when
from fraudcli.decision.rules import Rule

Column = Callable[[str], np.ndarray]

MISSING_AS_NAN = frozenset({"lat", "lon"})  # the float fields that may be absent (schema.Txn)

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_ARITHMETIC[ast.Div] = operator.truediv
_COMPARISON = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt}
_COMPARISON |= {ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}


class VectorFlags:
    """An engine's block lists and rules, compiled once for column-at-a-time evaluation.

    `names` are the columns `mask` may ask for (the rules' names and the block-listed fields).
    """

    def __init__(self, engine: DecisionEngine) -> None:
        self._lists = engine.blocklists.checks()
        self._rules = engine.rules
        self._compiled: list[Compiled | None] = [_compile_rule(rule) for rule in self._rules]
        fields = (field for field, _label, _members in self._lists)
        self.names = frozenset().union(fields, *(rule.names for rule in self._rules))

    @property
    def row_by_row(self) -> tuple[str, ...]:
        """The rules found to need row-by-row evaluation (see the module docstring)."""
        pairs = zip(self._rules, self._compiled, strict=True)
        return tuple(rule.name for rule, compiled in pairs if compiled is None)

    def mask(self, column: Column, n: int) -> np.ndarray:
        """bool[n]: True where the engine would flag the row (a block-list hit or a fired rule)."""
        frame = _Frame(column, n)
        flagged = np.zeros(n, dtype=bool)
        for field, _label, members in self._lists:
            flagged |= isin_strings(frame.raw(field), members)
        for i, rule in enumerate(self._rules):
            flagged |= self._fires(i, rule, frame)
        return flagged

    def _fires(self, i: int, rule: Rule, frame: _Frame) -> object:
        compiled = self._compiled[i]
        if compiled is not None:
            try:
                with np.errstate(all="ignore"):  # NaN and inf follow IEEE, as in Python
                    return true(compiled(frame))
            except Awkward:  # a matter of shape, not data: remembered for the next batches
                self._compiled[i] = None
        rows = frame.rows(sorted(rule.names))
        return np.fromiter(map(rule.predicate, rows), dtype=bool, count=frame.n)


def flag_mask(engine: DecisionEngine, column: Column, n: int) -> np.ndarray:
    """`VectorFlags(engine).mask(column, n)`, for one batch; keep a VectorFlags to reuse it."""
    return VectorFlags(engine).mask(column, n)


class _Frame:
    """One batch's columns, each fetched at most once."""

    def __init__(self, column: Column, n: int) -> None:
        self.column, self.n = column, n
        self._raw: dict[str, np.ndarray] = {}
        self._vecs: dict[str, Vec] = {}

    def raw(self, name: str) -> np.ndarray:
        if name not in self._raw:
            self._raw[name] = self.column(name)
        return self._raw[name]

    def load(self, name: str) -> Vec:
        if name not in self._vecs:
            self._vecs[name] = _column_vec(name, self.raw(name))
        return self._vecs[name]

    def rows(self, names: Sequence[str]) -> Iterable[dict]:
        """The rows as the per-record engine sees them: plain Python values, None if missing.

        `names` is never empty: a rule without names is constant and always vectorised."""
        columns = [self.values(name) for name in names]
        return (dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True))

    def values(self, name: str) -> list:
        values = self.raw(name).tolist()
        if name in MISSING_AS_NAN:
            return [None if v != v else v for v in values]  # NaN != NaN
        return values


def _column_vec(name: str, column: np.ndarray) -> Vec:
    """A batch column as a value: object arrays are strings (None missing), others numbers."""
    if column.dtype == object:
        return Vec("str", column, np.not_equal(column, None))
    column = np.asarray(column, dtype=np.float64)
    return Vec("num", column, ~np.isnan(column) if name in MISSING_AS_NAN else True)


# Compiling: each AST node becomes a function of the frame. The rule was validated when the
# engine was built, so only whitelisted nodes remain.

Compiled = Callable[[_Frame], Vec]


def _compile_rule(rule: Rule) -> Compiled:
    return _compile(parse_when(rule.name, rule.when))  # the same tree as compile_rule's


def _compile(node: ast.expr) -> Compiled:
    if isinstance(node, ast.BoolOp):
        parts, conjunction = tuple(_compile(v) for v in node.values), isinstance(node.op, ast.And)
        return lambda frame: logic([part(frame) for part in parts], conjunction)
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        apply = negation if isinstance(node.op, ast.Not) else negative
        return lambda frame: apply(operand(frame))
    if isinstance(node, ast.Compare):
        return _compile_compare(node)
    if isinstance(node, ast.BinOp):
        op, left, right = _ARITHMETIC[type(node.op)], _compile(node.left), _compile(node.right)
        return lambda frame: arithmetic(op, left(frame), right(frame))
    if isinstance(node, ast.Constant):
        value = constant_vec(node.value)
        return lambda frame: value
    name = node.id  # an ast.Name
    return lambda frame: frame.load(name)


def _compile_compare(node: ast.Compare) -> Compiled:
    left = _compile(node.left)
    if isinstance(node.ops[0], (ast.In, ast.NotIn)):  # validated: alone in its comparison
        members = _members(node.comparators[0])
        numbers = np.array([float(m) for m in members if is_float(m)], dtype=np.float64)
        negate = isinstance(node.ops[0], ast.NotIn)
        return lambda frame: membership(left(frame), members, numbers, negate)
    ops = tuple(_COMPARISON[type(op)] for op in node.ops)
    operands = (left, *(_compile(n) for n in node.comparators))
    if len(ops) == 1:
        op, right = ops[0], operands[1]
        return lambda frame: link(op, left(frame), right(frame))

    def chain(frame: _Frame) -> Vec:  # `a < b < c` is `a < b and b < c`, b computed once
        values = [operand(frame) for operand in operands]
        links = zip(ops, values[:-1], values[1:], strict=True)
        return logic([link(*pair) for pair in links], conjunction=True)

    return chain


def _members(node: ast.List | ast.Tuple | ast.Set) -> frozenset:
    """The literal set of `in [...]`, built as rules.py builds it (`-x` for a negative)."""
    return frozenset(-e.operand.value if isinstance(e, ast.UnaryOp) else e.value for e in node.elts)
