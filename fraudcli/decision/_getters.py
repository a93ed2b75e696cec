"""The evaluator of compiled rules: closures ("getters") over one record's values.

`fraudcli.decision.rules` checks a rule's `when` expression and builds it from these combinators;
each takes getters and returns a getter, a function of the record's values. A getter returns a
value, or None for *unknown*: a missing name, anything computed from one, a division by zero, an
ordering of mismatched types. `and` / `or` / `not` use three-valued (SQL) logic:

    >>> both = all_of((lookup("a"), lookup("b")))
    >>> both({"a": False, "b": None}), both({"a": True, "b": None}), both({"a": 1, "b": 2})
    (False, None, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Values = Mapping[str, object]
Getter = Callable[[Values], object]  # returns a value, or None for unknown


def lookup(name: str) -> Getter:
    return lambda values: values.get(name)


def all_of(parts: tuple[Getter, ...]) -> Getter:
    if len(parts) == 2:
        return both(*parts)

    def conjunction(values: Values) -> bool | None:
        unknown = False
        for part in parts:
            result = part(values)
            if result is None:
                unknown = True
            elif not result:
                return False
        return None if unknown else True

    return conjunction


def both(first: Getter, second: Getter) -> Getter:
    """`first and second`, unrolled: the most common rule shape."""

    def both(values: Values) -> bool | None:
        a = first(values)
        if a is not None and not a:
            return False
        b = second(values)
        if b is not None and not b:
            return False
        return None if a is None or b is None else True

    return both


def any_of(parts: tuple[Getter, ...]) -> Getter:
    def disjunction(values: Values) -> bool | None:
        unknown = False
        for part in parts:
            result = part(values)
            if result is None:
                unknown = True
            elif result:
                return True
        return None if unknown else False

    return disjunction


def negation(operand: Getter) -> Getter:
    def negation(values: Values) -> bool | None:
        result = operand(values)
        return None if result is None else not result

    return negation


def minus(operand: Getter) -> Getter:
    def minus(values: Values) -> object:
        value = operand(values)
        try:
            return None if value is None else -value
        except TypeError:
            return None

    return minus


def arithmetic(op: Callable, left: Getter, right: Getter) -> Getter:
    def arithmetic(values: Values) -> object:
        a, b = left(values), right(values)
        if a is None or b is None:
            return None
        try:
            return op(a, b)
        except (TypeError, ArithmeticError):  # e.g. division by zero: unknown, not a crash
            return None

    return arithmetic


def compare1(op: Callable, left: Getter, constant: object) -> Getter:
    """`left <op> constant`, the common case, without a call for the constant."""

    def comparison(values: Values) -> bool | None:
        a = left(values)
        if a is None:
            return None
        try:
            return op(a, constant)
        except TypeError:
            return None

    return comparison


def name_compare(op: Callable, name: str, constant: object) -> Getter:
    def comparison(values: Values) -> bool | None:
        a = values.get(name)
        if a is None:
            return None
        try:
            return op(a, constant)
        except TypeError:
            return None

    return comparison


def chain(ops: tuple[Callable, ...], operands: tuple[Getter, ...]) -> Getter:
    first, rest = operands[0], tuple(zip(ops, operands[1:], strict=True))

    def chain(values: Values) -> bool | None:
        unknown, a = False, first(values)
        for op, operand in rest:
            b = operand(values)
            if a is None or b is None:
                unknown = True
            else:
                try:
                    if not op(a, b):
                        return False
                except TypeError:
                    unknown = True
            a = b
        return None if unknown else True

    return chain
