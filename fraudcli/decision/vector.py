"""Block lists and rules over whole columns: which rows of a batch the decision engine would flag.

    flags = VectorFlags(engine)          # once: parses each rule's `when` again
    flagged = flags.mask(column, n)      # per batch: bool[n]

`flagged[i]` is True exactly when the one-record engine would give row i at least one reason (a
block-list hit or a fired rule), so the vectorised scorer re-decides only those rows one by one,
to write their reasons. `column(name)` returns one column of the batch; it is called at most once
per name and only for names in `flags.names`. Columns follow the batch conventions: features and
`amount` are float64; `lat` and `lon` are float64 with NaN for a missing value; string fields are
object arrays with None for a missing value.

A sub-expression becomes a `_Vec`: its values over the batch and a `known` mask (False where the
per-record evaluator would hold None, "unknown"). The semantics are those of
`fraudcli.decision.rules`: three-valued and/or/not, an unknown operand makes a comparison or an
arithmetic unknown, so does a division by zero or an ordering of a string against a number, while
a string never equals a number. True and False take part in arithmetic and comparisons as 1 and 0,
as in Python. A sub-expression of constants only is folded with Python's own operators.

Three shapes cannot be computed exactly in float64: an integer constant float64 cannot hold,
integer arithmetic (on comparison results and integer constants) that could pass 2**53, and a
string times an integer (repetition). A rule containing one is evaluated row by row with its own
predicate instead: still exact, but about 1 us a row. `flags.row_by_row` names such rules.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np

from fraudcli.decision.engine import DecisionEngine
from fraudcli.decision.rules import Rule

Column = Callable[[str], np.ndarray]

MISSING_AS_NAN = frozenset({"lat", "lon"})  # the float fields that may be absent (schema.Txn)
_EXACT = 2**53  # integers up to this size are exact in float64
_SMALL_SET = 4  # up to this many strings, `==` per member beats hashing every row

_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_ARITHMETIC[ast.Div] = operator.truediv
_COMPARISON = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt}
_COMPARISON |= {ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}


class _Awkward(Exception):
    """A shape float64 cannot evaluate exactly: the rule goes row by row."""


@dataclass(frozen=True, slots=True)
class _Vec:
    """One sub-expression over the batch: `value` where `known`, unknown (None) elsewhere.

    kind is "num" (float64), "bool" or "str" (object). `value` and `known` are arrays, or plain
    Python values for a constant. `bound` is set when the per-record values are Python ints (from
    True/False and integer constants): their largest possible magnitude.
    """

    kind: str
    value: object
    known: object = True
    bound: int | None = None


_UNKNOWN = _Vec("num", 0.0, False)


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
            flagged |= _isin_strings(frame.raw(field), members)
        for i, rule in enumerate(self._rules):
            flagged |= self._fires(i, rule, frame)
        return flagged

    def _fires(self, i: int, rule: Rule, frame: _Frame) -> object:
        compiled = self._compiled[i]
        if compiled is not None:
            try:
                with np.errstate(all="ignore"):  # NaN and inf follow IEEE, as in Python
                    return _true(compiled(frame))
            except _Awkward:  # a matter of shape, not data: remembered for the next batches
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
        self._vecs: dict[str, _Vec] = {}

    def raw(self, name: str) -> np.ndarray:
        if name not in self._raw:
            self._raw[name] = self.column(name)
        return self._raw[name]

    def load(self, name: str) -> _Vec:
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


def _column_vec(name: str, column: np.ndarray) -> _Vec:
    """A batch column as a value: object arrays are strings (None missing), others numbers."""
    if column.dtype == object:
        return _Vec("str", column, np.not_equal(column, None))
    column = np.asarray(column, dtype=np.float64)
    return _Vec("num", column, ~np.isnan(column) if name in MISSING_AS_NAN else True)


def _isin_strings(values: np.ndarray, members: frozenset) -> np.ndarray:
    """`value in members` for each value of an object array (strings and None)."""
    strings = [m for m in members if isinstance(m, str)]  # a string equals no other constant
    if len(strings) <= _SMALL_SET:
        return reduce(operator.or_, (values == m for m in strings), np.zeros(len(values), bool))
    return np.fromiter(map(members.__contains__, values), dtype=bool, count=len(values))


# Compiling: each AST node becomes a function of the frame. The rule was validated when the
# engine was built, so only whitelisted nodes remain.

Compiled = Callable[[_Frame], _Vec]


def _compile_rule(rule: Rule) -> Compiled:
    # lines joined as in compile_rule, so a multi-line TOML string parses the same way
    return _compile(ast.parse(" ".join(rule.when.strip().splitlines()), mode="eval").body)


def _compile(node: ast.expr) -> Compiled:
    if isinstance(node, ast.BoolOp):
        parts, conjunction = tuple(_compile(v) for v in node.values), isinstance(node.op, ast.And)
        return lambda frame: _logic([part(frame) for part in parts], conjunction)
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        apply = _negation if isinstance(node.op, ast.Not) else _negative
        return lambda frame: apply(operand(frame))
    if isinstance(node, ast.Compare):
        return _compile_compare(node)
    if isinstance(node, ast.BinOp):
        op, left, right = _ARITHMETIC[type(node.op)], _compile(node.left), _compile(node.right)
        return lambda frame: _arithmetic(op, left(frame), right(frame))
    if isinstance(node, ast.Constant):
        constant = _constant(node.value)
        return lambda frame: constant
    name = node.id  # an ast.Name
    return lambda frame: frame.load(name)


def _compile_compare(node: ast.Compare) -> Compiled:
    left = _compile(node.left)
    if isinstance(node.ops[0], (ast.In, ast.NotIn)):  # validated: alone in its comparison
        members = _members(node.comparators[0])
        numbers = np.array([float(m) for m in members if _is_float(m)], dtype=np.float64)
        negate = isinstance(node.ops[0], ast.NotIn)
        return lambda frame: _membership(left(frame), members, numbers, negate)
    ops = tuple(_COMPARISON[type(op)] for op in node.ops)
    operands = (left, *(_compile(n) for n in node.comparators))
    if len(ops) == 1:
        op, right = ops[0], operands[1]
        return lambda frame: _link(op, left(frame), right(frame))

    def chain(frame: _Frame) -> _Vec:  # `a < b < c` is `a < b and b < c`, b computed once
        values = [operand(frame) for operand in operands]
        links = zip(ops, values[:-1], values[1:], strict=True)
        return _logic([_link(*link) for link in links], conjunction=True)

    return chain


def _members(node: ast.List | ast.Tuple | ast.Set) -> frozenset:
    """The literal set of `in [...]`, built as rules.py builds it (`-x` for a negative)."""
    return frozenset(-e.operand.value if isinstance(e, ast.UnaryOp) else e.value for e in node.elts)


def _is_float(member: object) -> bool:
    """True if `member` is a number float64 holds exactly (no other can equal a batch value)."""
    if isinstance(member, str):
        return False
    try:
        return float(member) == member
    except OverflowError:
        return False


# Evaluating: each function mirrors one closure of rules.py, over whole columns.


def _constant(value: object) -> _Vec:
    kind = "str" if isinstance(value, str) else "bool" if isinstance(value, bool) else "num"
    return _Vec(kind, value)


def _is_constant(vec: _Vec) -> bool:
    return not isinstance(vec.value, np.ndarray) and not isinstance(vec.known, np.ndarray)


def _fold(op: Callable, *operands: _Vec) -> _Vec:
    """A constant expression, computed once with Python's operator, as the closures do."""
    if not all(operand.known for operand in operands):
        return _UNKNOWN
    try:
        return _constant(op(*(operand.value for operand in operands)))
    except (TypeError, ArithmeticError):  # e.g. 1 / 0, "a" < 1: unknown
        return _UNKNOWN


def _number(vec: _Vec) -> tuple[object, int | None]:
    """(float64 values, bound) of a number or a truth value, for NumPy's IEEE arithmetic."""
    value, bound = vec.value, vec.bound
    if vec.kind == "bool":
        bound = 1
    elif isinstance(value, int):  # an integer constant
        if not _is_float(value):
            raise _Awkward
        bound = abs(value)
    if isinstance(value, np.ndarray):
        return value.astype(np.float64, copy=False), bound
    return np.float64(value), bound  # never a Python float: 1.0 / 0.0 would raise


def _arithmetic(op: Callable, a: _Vec, b: _Vec) -> _Vec:
    if _is_constant(a) and _is_constant(b):
        return _fold(op, a, b)
    if a.kind == "str" or b.kind == "str":
        return _string_arithmetic(op, a, b)
    (x, x_bound), (y, y_bound) = _number(a), _number(b)
    known, bound = _and(a.known, b.known), None
    if op is operator.truediv:
        known = _and(known, y != 0)  # division by zero (or -0.0) is unknown
    elif x_bound is not None and y_bound is not None:  # Python ints: exact, unbounded
        bound = x_bound * y_bound if op is operator.mul else x_bound + y_bound
        if bound > _EXACT:
            raise _Awkward
    return _Vec("num", op(x, y), known, bound)


def _string_arithmetic(op: Callable, a: _Vec, b: _Vec) -> _Vec:
    if op is operator.add and a.kind == b.kind == "str":
        return _Vec("str", _filled(a) + _filled(b), _and(a.known, b.known))
    other = b if a.kind == "str" else a
    if op is operator.mul and other.kind != "str" and _number(other)[1] is not None:
        raise _Awkward  # a string times an integer repeats it
    return _UNKNOWN  # any other mix is a TypeError in Python


def _negative(vec: _Vec) -> _Vec:
    if _is_constant(vec):
        return _fold(operator.neg, vec)
    if vec.kind == "str":
        return _UNKNOWN
    value, bound = _number(vec)
    return _Vec("num", -value, vec.known, bound)


def _link(op: Callable, a: _Vec, b: _Vec) -> _Vec:
    """`a <op> b`, one link of a comparison."""
    if _is_constant(a) and _is_constant(b):
        return _fold(op, a, b)
    known = _and(a.known, b.known)
    if (a.kind == "str") != (b.kind == "str"):  # never equal, and not ordered
        if op is operator.eq or op is operator.ne:
            return _Vec("bool", op is operator.ne, known)
        return _UNKNOWN
    if a.kind == "str":
        return _Vec("bool", op(_filled(a), _filled(b)), known)
    return _Vec("bool", op(_number(a)[0], _number(b)[0]), known)


def _membership(vec: _Vec, members: frozenset, numbers: np.ndarray, negate: bool) -> _Vec:
    if _is_constant(vec):
        return _fold(lambda value: (value in members) != negate, vec)
    if vec.kind == "str":
        hits = _isin_strings(vec.value, members)
    else:
        hits = np.isin(_number(vec)[0], numbers)
    return _Vec("bool", ~hits if negate else hits, vec.known)


def _filled(vec: _Vec) -> object:
    """A string column with "" where unknown, so Python's comparisons never meet None."""
    return np.where(vec.known, vec.value, "") if isinstance(vec.known, np.ndarray) else vec.value


# Three-valued logic over masks (or Python bools): a value is true, false or unknown.


def _truthy(vec: _Vec) -> object:
    """Python's bool() of each value (meaningful where the value is known)."""
    if vec.kind == "bool":
        return vec.value
    if vec.kind == "num":
        return vec.value != 0  # NaN is truthy, as in Python
    return _filled(vec) != ""


def _true(vec: _Vec) -> object:
    """Known and truthy: where a rule with this expression fires."""
    return _and(vec.known, _truthy(vec))


def _truth(vec: _Vec) -> tuple[object, object]:
    """(known and truthy, known and falsy)."""
    truthy = _truthy(vec)
    return _and(vec.known, truthy), _and(vec.known, _not(truthy))


def _logic(parts: list[_Vec], conjunction: bool) -> _Vec:
    """`and`: false if any part is false, else unknown if any is unknown, else true; `or` the
    other way round."""
    join, meet = (_and, _or) if conjunction else (_or, _and)
    if not any(isinstance(part.known, np.ndarray) or not part.known for part in parts):
        return _Vec("bool", reduce(join, map(_truthy, parts)), True)  # all known: plain logic
    truths = [_truth(part) for part in parts]
    true = reduce(join, (t for t, _ in truths))
    false = reduce(meet, (f for _, f in truths))
    return _Vec("bool", true, _or(true, false))


def _negation(vec: _Vec) -> _Vec:
    true, false = _truth(vec)
    return _Vec("bool", false, _or(true, false))


def _not(x: object) -> object:
    return ~x if isinstance(x, np.ndarray) else not x


def _and(a: object, b: object) -> object:
    if isinstance(a, np.ndarray):
        return a & b if isinstance(b, np.ndarray) else (a if b else False)
    return b if a else False


def _or(a: object, b: object) -> object:
    if isinstance(a, np.ndarray):
        return a | b if isinstance(b, np.ndarray) else (True if b else a)
    return True if a else b
