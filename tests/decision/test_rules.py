"""Rule expressions: the whitelist evaluates like Python, everything else is refused at load."""

from __future__ import annotations

import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudcli.decision.rules import compile_rule, load_rules
from fraudcli.errors import ConfigError

NAMES = {"amount", "count", "rate", "flag", "country", "channel", "lat"}
VALUES = {
    "amount": 42.0,
    "count": 3.0,
    "rate": 0.25,
    "flag": 1.0,
    "country": "US",
    "channel": "web",
    "lat": 0.0,
}


def fires(when: str, values: dict | None = None) -> bool:
    result = compile_rule("r", when, "REVIEW", NAMES).predicate(
        VALUES if values is None else values
    )
    assert type(result) is bool
    return result


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("amount > 40", True),
        ("amount > 42", False),
        ("amount >= 42", True),
        ("amount < 42.5", True),
        ("amount <= 41.99", False),
        ("count == 3", True),
        ("count != 3", False),
        ("country == 'US'", True),
        ('country != "US"', False),
        ("country in ['KP', 'IR']", False),
        ("country not in ['KP', 'IR']", True),
        ("country in ('US',)", True),
        ("country in {'US', 'CA'}", True),
        ("count in [1, 2, 3]", True),
        ("rate in [-0.25, 0.25]", True),
        ("-rate in [-0.25]", True),
        ("count in []", False),
        ("amount > 40 and count >= 3", True),
        ("amount > 40 and count > 3", False),
        ("amount > 50 or count == 3", True),
        ("amount > 50 or count > 3", False),
        ("amount > 1 and count > 1 and rate > 0.2 and flag == 1", True),
        ("amount > 99 or count > 99 or rate > 0.2", True),
        ("not amount > 50", True),
        ("not (amount > 40 and count == 3)", False),
        ("(amount > 50 or count == 3) and not country == 'KP'", True),
        ("0 < rate < 1", True),
        ("0 < rate < 0.2", False),
        ("1 < count <= 3 < amount", True),
        ("amount + count == 45", True),
        ("amount - count == 39", True),
        ("amount * rate == 10.5", True),
        ("amount / count == 14", True),
        ("amount / count * 2 - 1 == 27", True),
        ("-amount < -41", True),
        ("-(amount - 50) == 8", True),
        ("amount > 2 * (count + 10)", True),
        ("flag", True),
        ("not flag", False),
        ("True", True),
        ("False or amount > 1", True),
    ],
)
def test_whitelisted_constructs_evaluate_like_python(when: str, expected: bool) -> None:
    assert fires(when) is expected


@pytest.mark.parametrize(
    ("when", "piece"),
    [
        ("__import__('os')", "function calls are not allowed"),
        ("__import__('os').system('true') or amount > 1", "function calls"),
        ("len(country) > 2", "function calls are not allowed: `len(country)`"),
        ("country.lower == 'us'", "attribute access are not allowed: `country.lower`"),
        ("amount.real > 1", "attribute access"),
        ("country[0] == 'U'", "subscripts are not allowed: `country[0]`"),
        ("(lambda: 1)() > 0", "function calls"),
        ("lambda: amount", "lambdas are not allowed"),
        ("(x := 1) > 0", "assignment expressions (:=) are not allowed"),
        ("f'{country}' == 'US'", "f-strings are not allowed"),
        ("[c for c in country] == []", "comprehensions are not allowed"),
        ("any(c for c in country)", "function calls"),
        ("{c: 1 for c in country}", "comprehensions"),
        ("amount if flag else count", "conditional expressions are not allowed"),
        ("{'a': 1} == {}", "dict literals are not allowed"),
        ("amount ** 2 > 1", "the operator Pow is not allowed"),
        ("amount // 2 > 1", "the operator FloorDiv is not allowed"),
        ("amount % 2 == 0", "the operator Mod is not allowed"),
        ("count & 1", "the operator BitAnd is not allowed"),
        ("~count", "the unary operator Invert is not allowed"),
        ("country is None", "the comparison Is is not allowed"),
        ("country == None", "the constant None is not allowed"),
        ("amount > b'1'", "the constant b'1' is not allowed"),
        ("country in channel", "`in` needs a literal list of constants"),
        ("country in [channel]", "non-constants are not allowed: `channel`"),
        ("country in ['KP'] == True", "chaining `in`"),
        ("[1, 2] == amount", "a literal list outside `in [...]` is not allowed"),
        ("country in [-'KP']", "a negative string is not allowed"),
        ("amount > 1; import os", "invalid expression"),
        ("import os", "invalid expression"),
        ("amount >", "invalid expression"),
        ("", "non-empty string"),
        ("not " * 900 + "flag", "nested too deeply"),
        ("country + channel == 'USweb'", "arithmetic on text (country is text) is not allowed"),
    ],
)
def test_forbidden_constructs_are_refused_at_load_naming_rule_and_piece(when, piece) -> None:
    with pytest.raises(ConfigError) as error:
        compile_rule("sneaky_rule", when, "BLOCK", NAMES)
    assert "'sneaky_rule'" in str(error.value)
    assert piece in str(error.value)


def test_unknown_names_are_refused_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"rule 'typo': unknown name 'ammount'.*'amount'"):
        compile_rule("typo", "ammount > 5", "REVIEW", NAMES)
    with pytest.raises(ConfigError, match="unknown name 'os'"):
        compile_rule("typo", "count > 1 and os == 1", "REVIEW", NAMES)


def test_rule_records_the_names_it_reads() -> None:
    rule = compile_rule("r", "amount > 1 and (country in ['KP'] or -rate < 0)", "BLOCK", NAMES)
    assert rule.names == {"amount", "country", "rate"}
    assert (rule.name, rule.action) == ("r", "BLOCK")


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("country == 'US'", False),
        ("country != 'US'", False),  # unknown, not "different from US"
        ("country not in ['KP']", False),
        ("not country == 'US'", False),  # `not unknown` is still unknown
        ("not (country in ['KP'] and amount > 1)", False),
        ("country == 'US' or amount > 40", True),  # decided by the known side
        ("amount > 40 or country == 'US'", True),
        ("country == 'US' and amount > 50", False),  # False and unknown is False
        ("not (country == 'US' and amount > 50)", True),
        ("1 < count < country", False),
        ("count < 1 < country", False),  # a False link decides the chain
        ("not (count < 1 < country)", True),
        ("country", False),
    ],
)
def test_missing_value_is_unknown_and_never_fires(when: str, expected: bool) -> None:
    with_none = VALUES | {"country": None}
    absent = {k: v for k, v in VALUES.items() if k != "country"}
    assert fires(when, with_none) is expected
    assert fires(when, absent) is expected


@pytest.mark.parametrize(
    "when",
    [
        "amount / lat > 1",
        "amount / lat < 1",
        "not (amount / lat > 1)",
        "amount / (count - 3) == 0",
        "country < 3",  # mismatched types: unknown, not a crash
        "not country > 3",
        "1 < country < 3",
    ],
)
def test_division_by_zero_and_type_errors_are_unknown_not_crashes(when: str) -> None:
    assert fires(when) is False


def test_nan_follows_ieee_comparisons() -> None:
    nan = VALUES | {"rate": float("nan")}
    assert fires("rate > 0", nan) is False
    assert fires("rate != 0", nan) is True


def test_multi_line_expression_from_toml() -> None:
    assert fires("amount > 40\n  and count == 3\n") is True


@pytest.mark.parametrize(("action", "expected"), [("REVIEW", "REVIEW"), (" block ", "BLOCK")])
def test_actions_are_normalised(action: str, expected: str) -> None:
    assert compile_rule("r", "amount > 1", action, NAMES).action == expected


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("ALLOW", "ALLOW is not supported"),
        ("allow", "ALLOW"),
        ("DENY", "REVIEW or BLOCK"),
        (1, "REVIEW or BLOCK"),
    ],
)
def test_bad_actions_are_refused(action: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        compile_rule("r", "amount > 1", action, NAMES)


def test_load_rules_keeps_file_order() -> None:
    section = [
        {"name": "b", "when": "amount > 1", "action": "REVIEW", "description": "why"},
        {"name": "a", "when": "count > 1", "action": "BLOCK"},
    ]
    rules = load_rules(section, NAMES)
    assert [(r.name, r.action) for r in rules] == [("b", "REVIEW"), ("a", "BLOCK")]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"name": "x"}, "array of tables"),
        (["amount > 1"], "must be a table"),
        ([{"name": "x", "when": "amount > 1", "acton": "BLOCK"}], r"rule 'x'.*unknown key.*acton"),
        ([{"name": "x", "action": "BLOCK"}], "rule 'x': `when` must be"),
        ([{"when": "amount > 1", "action": "BLOCK"}], "non-empty string `name`"),
        ([{"name": "x", "when": 5, "action": "BLOCK"}], "`when` must be"),
        ([{"name": "x", "when": "amount > 1"}], "action must be"),
        (
            [
                {"name": "x", "when": "amount > 1", "action": "BLOCK"},
                {"name": "x", "when": "count > 1", "action": "REVIEW"},
            ],
            "defined twice",
        ),
    ],
)
def test_load_rules_refuses_malformed_sections(section: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_rules(section, NAMES)


# Property: on known numeric values, compiled rules agree with Python's own operators. The oracle
# is built alongside the text from the same random tree, so no eval is needed.

_NUMERIC = ["amount", "count", "rate", "flag"]
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_CMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_CMP |= {"==": operator.eq, "!=": operator.ne}


def _term():
    names = st.sampled_from(_NUMERIC).map(lambda n: (n, lambda v, n=n: v[n]))
    consts = st.integers(-5, 5).map(lambda c: (f"({c})", lambda v, c=c: c))
    return st.recursive(
        names | consts,
        lambda inner: st.tuples(inner, st.sampled_from(sorted(_OPS)), inner).map(
            lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", _binary(_OPS[t[1]], t[0][1], t[2][1]))
        ),
        max_leaves=4,
    )


def _binary(op, left, right):
    return lambda v: op(left(v), right(v))


def _comparison():
    return st.tuples(_term(), st.sampled_from(sorted(_CMP)), _term()).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2][0]}", _binary(_CMP[t[1]], t[0][1], t[2][1]))
    )


def _boolean():
    return st.recursive(
        _comparison(),
        lambda inner: st.one_of(
            inner.map(lambda t: (f"not ({t[0]})", lambda v, f=t[1]: not f(v))),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(_junction),
        ),
        max_leaves=5,
    )


def _junction(t):
    (left, f), word, (right, g) = t
    if word == "and":
        return f"({left}) and ({right})", lambda v: bool(f(v) and g(v))
    return f"({left}) or ({right})", lambda v: bool(f(v) or g(v))


@settings(max_examples=300, deadline=None)
@given(
    expression=_boolean(),
    values=st.fixed_dictionaries({n: st.integers(-3, 10).map(float) for n in _NUMERIC}),
)
def test_compiled_rules_agree_with_python_on_known_values(expression, values) -> None:
    text, oracle = expression
    assert compile_rule("p", text, "REVIEW", NAMES).predicate(values) is bool(oracle(values))
