"""Rule values over whole columns: the array maths behind `fraudcli.decision.vector`.

A sub-expression becomes a `Vec`: its values over the batch and a `known` mask (False where the
per-record evaluator would hold None, "unknown"). The semantics are those of
`fraudcli.decision.rules`: three-valued and/or/not, an unknown operand makes a comparison or an
arithmetic unknown, so does a division by zero or an ordering of a string against a number, while
a string never equals a number. True and False take part in arithmetic and comparisons as 1 and 0,
as in Python. A sub-expression of constants only is folded with Python's own operators.

A shape float64 cannot compute exactly raises `Awkward`, and the caller evaluates that rule row
by row instead (see `fraudcli.decision.vector`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

import numpy as np

_EXACT = 2**53  # integers up to this size are exact in float64
_SMALL_SET = 4  # up to this many strings, `==` per member beats hashing every row


class Awkward(Exception):
    """A shape float64 cannot evaluate exactly: the rule goes row by row."""


@dataclass(frozen=True, slots=True)
class Vec:
    """One sub-expression over the batch: `value` where `known`, unknown (None) elsewhere.

    kind is "num" (float64), "bool" or "str" (object). `value` and `known` are arrays, or plain
    Python values for a constant. `bound` is set when the per-record values are Python ints (from
    True/False and integer constants): their largest possible magnitude.
    """

    kind: str
    value: object
    known: object = True
    bound: int | None = None


_UNKNOWN = Vec("num", 0.0, False)


def isin_strings(values: np.ndarray, members: frozenset) -> np.ndarray:
    """`value in members` for each value of an object array (strings and None)."""
    strings = [m for m in members if isinstance(m, str)]  # a string equals no other constant
    if len(strings) <= _SMALL_SET:
        return reduce(operator.or_, (values == m for m in strings), np.zeros(len(values), bool))
    return np.fromiter(map(members.__contains__, values), dtype=bool, count=len(values))


def is_float(member: object) -> bool:
    """True if `member` is a number float64 holds exactly (no other can equal a batch value)."""
    if isinstance(member, str):
        return False
    try:
        return float(member) == member
    except OverflowError:
        return False


# Evaluating: each function mirrors one closure of getters.py, over whole columns.


def constant_vec(value: object) -> Vec:
    kind = "str" if isinstance(value, str) else "bool" if isinstance(value, bool) else "num"
    return Vec(kind, value)


def _is_constant(vec: Vec) -> bool:
    return not isinstance(vec.value, np.ndarray) and not isinstance(vec.known, np.ndarray)


def _fold(op: Callable, *operands: Vec) -> Vec:
    """A constant expression, computed once with Python's operator, as the closures do."""
    if not all(operand.known for operand in operands):
        return _UNKNOWN
    try:
        return constant_vec(op(*(operand.value for operand in operands)))
    except (TypeError, ArithmeticError):  # e.g. 1 / 0, "a" < 1: unknown
        return _UNKNOWN


def _number(vec: Vec) -> tuple[object, int | None]:
    """(float64 values, bound) of a number or a truth value, for NumPy's IEEE arithmetic."""
    value, bound = vec.value, vec.bound
    if vec.kind == "bool":
        bound = 1
    elif isinstance(value, int):  # an integer constant
        if not is_float(value):
            raise Awkward
        bound = abs(value)
    if isinstance(value, np.ndarray):
        return value.astype(np.float64, copy=False), bound
    return np.float64(value), bound  # never a Python float: 1.0 / 0.0 would raise


def arithmetic(op: Callable, a: Vec, b: Vec) -> Vec:
    if _is_constant(a) and _is_constant(b):
        return _fold(op, a, b)
    if a.kind == "str" or b.kind == "str":  # refused when the rule is compiled (rules.py)
        raise Awkward
    (x, x_bound), (y, y_bound) = _number(a), _number(b)
    known, bound = _and(a.known, b.known), None
    if op is operator.truediv:
        known = _and(known, y != 0)  # division by zero (or -0.0) is unknown
    elif x_bound is not None and y_bound is not None:  # Python ints: exact, unbounded
        bound = x_bound * y_bound if op is operator.mul else x_bound + y_bound
        if bound > _EXACT:
            raise Awkward
    return Vec("num", op(x, y), known, bound)


def negative(vec: Vec) -> Vec:
    if _is_constant(vec):
        return _fold(operator.neg, vec)
    if vec.kind == "str":
        return _UNKNOWN
    value, bound = _number(vec)
    return Vec("num", -value, vec.known, bound)


def link(op: Callable, a: Vec, b: Vec) -> Vec:
    """`a <op> b`, one link of a comparison."""
    if _is_constant(a) and _is_constant(b):
        return _fold(op, a, b)
    known = _and(a.known, b.known)
    if (a.kind == "str") != (b.kind == "str"):  # never equal, and not ordered
        if op is operator.eq or op is operator.ne:
            return Vec("bool", op is operator.ne, known)
        return _UNKNOWN
    if a.kind == "str":
        return Vec("bool", op(_filled(a), _filled(b)), known)
    return Vec("bool", op(_number(a)[0], _number(b)[0]), known)


def membership(vec: Vec, members: frozenset, numbers: np.ndarray, negate: bool) -> Vec:
    if _is_constant(vec):
        return _fold(lambda value: (value in members) != negate, vec)
    if vec.kind == "str":
        hits = isin_strings(vec.value, members)
    else:
        hits = np.isin(_number(vec)[0], numbers)
    return Vec("bool", ~hits if negate else hits, vec.known)


def _filled(vec: Vec) -> object:
    """A string column with "" where unknown, so Python's comparisons never meet None."""
    return np.where(vec.known, vec.value, "") if isinstance(vec.known, np.ndarray) else vec.value


# Three-valued logic over masks (or Python bools): a value is true, false or unknown.


def _truthy(vec: Vec) -> object:
    """Python's bool() of each value (meaningful where the value is known)."""
    if vec.kind == "bool":
        return vec.value
    if vec.kind == "num":
        return vec.value != 0  # NaN is truthy, as in Python
    return _filled(vec) != ""


def true(vec: Vec) -> object:
    """Known and truthy: where a rule with this expression fires."""
    return _and(vec.known, _truthy(vec))


def _truth(vec: Vec) -> tuple[object, object]:
    """(known and truthy, known and falsy)."""
    truthy = _truthy(vec)
    return _and(vec.known, truthy), _and(vec.known, _not(truthy))


def logic(parts: list[Vec], conjunction: bool) -> Vec:
    """`and`: false if any part is false, else unknown if any is unknown, else true; `or` the
    other way round."""
    join, meet = (_and, _or) if conjunction else (_or, _and)
    if not any(isinstance(part.known, np.ndarray) or not part.known for part in parts):
        return Vec("bool", reduce(join, map(_truthy, parts)), True)  # all known: plain logic
    truths = [_truth(part) for part in parts]
    true = reduce(join, (t for t, _ in truths))
    false = reduce(meet, (f for _, f in truths))
    return Vec("bool", true, _or(true, false))


def negation(vec: Vec) -> Vec:
    true, false = _truth(vec)
    return Vec("bool", false, _or(true, false))


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
