"""Block lists and rules over columns (decision/vector.py) flag exactly the rows the engine flags.

The oracle is the one-record engine itself: row i is flagged when `decide(0.0, values_i)` gives
any reason (a score of 0 crosses no threshold, so every reason is a block-list hit or a rule).
"""

from __future__ import annotations

import math
import random
import tomllib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from fraudcli.decision.engine import Blocklists, DecisionEngine, Thresholds
from fraudcli.decision.rules import compile_rule
from fraudcli.decision.vector import VectorFlags, flag_mask
from fraudcli.errors import ConfigError
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.records.schema import RECORD_FIELDS
from fraudcli.scoring.pipeline import VALUE_NAMES

EXTRA = ("a", "b", "c")  # stand-in features with short names, for readable expressions
NAMES = frozenset(VALUE_NAMES) | set(EXTRA)
FLOATS = (*FEATURE_NAMES, *EXTRA, "amount", "lat", "lon")
STRINGS = tuple(f for f in RECORD_FIELDS if f not in FLOATS)

BIG = 9007199254740993  # 2**53 + 1: no float64 holds it
HUGE = "1" + "0" * 400  # an integer too large for any float
FEATURE_POOL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 5.0, 8.0, 10.0, 20.0, 1000.0, 1e308, 2.0**53]
FEATURE_POOL += [math.inf, math.nan]  # cannot occur in valid rows, but must not diverge
STRING_POOL = [None, "US", "KP", "M", "a", "web", "USweb", "", "u1", "d1"]

CRAFTED = [
    # comparisons, each operator, names on either side, chains
    "a < 1",
    "a <= 1",
    "a > 1",
    "a >= 1",
    "a == 1",
    "a != 1",
    "1 < a",
    "a < b",
    "a == b",
    "0 < a < b",
    "a < 1 < b <= c",
    "a < 1 < country",
    "lat < lon <= a",
    "lon != 1",
    "not lon > 0",
    "not (lat < lon)",
    "a == a",
    "a != a",  # NaN
    "lat == lat",
    "amount >= 500.0",
    "a < -0.0",
    "a == 9007199254740992",
    # membership
    "country in ['US', 'KP']",
    "country not in ['US', 'KP']",
    "country in ['US', 'KP', 'M', 'a', 'web', 'u1']",
    "country not in ['US', 'KP', 'M', 'a', 'web', 'u1']",
    "country in [1, 'US']",
    "country in []",
    "a in [0, 1, True, 2.5, -1, 'US']",
    "a not in [0, 1, -1]",
    "a in [-0.0]",
    "lat in [0, 45.0]",
    "lat not in [0, 45.0]",
    "(a > 1) in [True]",
    "(a > 1) not in [1]",
    "a + 1 in [2, 3]",
    f"a in [{BIG}, 1]",
    "-a in [-1]",
    # arithmetic and division by zero
    "a + b > 1",
    "a - b < 0",
    "a * b == 0",
    "a / b > 1",
    "not a / b > 1",
    "a / (b - 1) < 2",
    "amount / lat > 1",
    "not (amount / lat < 1)",
    "lat / lon == 1",
    "a / -0.0 > 0",
    "a * 0 == 0",
    "1e308 * 10 > a",
    "a / 2 * 3 - 1 >= 0",
    "-a < 0",
    "-lat > 0",
    "-(a - b) == 1",
    "(a > 1) + (b > 1) + (lat > 0) >= 2",
    "(a > 1) - (b > 1) == 0",
    "(a > 1) * 3 == 3",
    "(a > 1) / (b > 1) == 1",
    "-(a > 1) == -1",
    "a + True == 2",
    # three-valued logic
    "lat > 0 or a > 1",
    "lat > 0 and a > 1",
    "not (lat > 0 and a > 1)",
    "not (lat > 0 or a > 1)",
    "lat > 0 and a > 1 and country == 'US'",
    "a > 1 or lat > 0 or country < 'M'",
    "not lat > 0",
    "not lat",
    "not country",
    "lat and a",
    "country or lat",
    "a and not b",
    "(a > 1 or lat > 0) and not (country == 'KP' or channel != 'web')",
    "False or lat > 0",
    "True and a",
    # strings
    "country < 'M'",
    "country >= channel",
    "country == 3",
    "country != 3",
    "country < 3",
    "3 > country",
    "not country > 3",
    "country == True",
    "country != (a > 1)",
    # constants, folded
    "True",
    "False",
    "1",
    "0",
    "'x'",
    "''",
    "1 / 0 == 1",
    "not 1 / 0",
    "2 + 3 == 5",
    "1 < 2 < 3",
    "'a' < 1",
    "not 'a' < 1",
    "'a' == 1",
    "-True == -1",
    "(1 > 0) + 1 == 2",
    f"{BIG} - 1 == 9007199254740992",
    f"{HUGE} + 1.0 > 0",
    # a bare name or arithmetic as the whole expression
    "a",
    "lat",
    "country",
    "a - 1",
    "lat * 0",
    "-a",
]
# Shapes float64 cannot do exactly: evaluated row by row (still exact).
AWKWARD = [
    f"a < {BIG}",  # float64 would round BIG to 2**53 (a value in FEATURE_POOL)
    f"a + {HUGE} > 0",  # an OverflowError in Python: unknown
    f"(a > 1) * {BIG} > 0",
    "(a > 1) * 9007199254740992 + 1 == 9007199254740992",  # Python ints are exact
]


# Arithmetic on text is refused when a rule is compiled, so neither path ever evaluates it.
TEXT_ARITHMETIC = [
    "country + channel in ['USweb']",
    "country + channel == 'USweb'",
    "'x' + country == 'xUS'",
    "country + 1 > 0",
    "country - channel == ''",
    "-country == 1",
    "country * amount == 'US'",
    "country * 'a' == 'US'",
    "country / 2 == 1",
    "country + (a > 1) == 'US'",
    "'ab' * 2 == 'abab'",
    "country + channel",
    "country * 2 == 'USUS'",
    "country * (a > 1) == 'US'",
    "2 * channel == ''",
]


def shipped_config() -> dict:
    text = resources.files("fraudcli").joinpath("defaults/fraud.toml").read_text("utf-8")
    return tomllib.loads(text)


def engine_of(*whens: str, **lists: list[str]) -> DecisionEngine:
    rules = [compile_rule(f"r{i}", when, "REVIEW", NAMES) for i, when in enumerate(whens)]
    return DecisionEngine(Thresholds(), rules, Blocklists(**lists))


SHIPPED = DecisionEngine.from_config(shipped_config(), NAMES)
CRAFTED_FLAGS = [(when, VectorFlags(engine_of(when))) for when in CRAFTED + AWKWARD]


POOLS = (
    dict.fromkeys((*FEATURE_NAMES, *EXTRA), FEATURE_POOL)
    | {"amount": [0.0, 1.0, 4.99, 5.0, 500.0, 2.5]}
    | dict.fromkeys(("lat", "lon"), [None, 0.0, -0.0, 1.5, -90.0, 45.0])
    | dict.fromkeys(STRINGS, STRING_POOL)
)


def rows_strategy(
    max_size: int = 12, names: tuple[str, ...] = tuple(POOLS)
) -> st.SearchStrategy[list[dict]]:
    row = st.fixed_dictionaries({name: st.sampled_from(POOLS[name]) for name in names})
    return st.lists(row, max_size=max_size)


class Batch:
    """The rows as columns, recording which columns were asked for."""

    def __init__(self, rows: list[dict], names: tuple[str, ...] = tuple(POOLS)) -> None:
        self.n, self.asked = len(rows), []
        self.columns = {
            name: np.array([math.nan if r[name] is None else r[name] for r in rows], np.float64)
            for name in names
            if name in FLOATS
        }
        for name in set(names) & set(STRINGS):
            self.columns[name] = np.array([r[name] for r in rows], dtype=object)

    def column(self, name: str) -> np.ndarray:
        self.asked.append(name)
        return self.columns[name]


def sample_rows(k: int, seed: int = 0) -> list[dict]:
    """k fixed rows drawn from the same pools as the property tests."""
    pick = random.Random(seed).choice
    return [{name: pick(pool) for name, pool in POOLS.items()} for _ in range(k)]


def expected(engine: DecisionEngine, rows: list[dict]) -> list[bool]:
    return [bool(engine.decide(0.0, row).reasons) for row in rows]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=rows_strategy())
def test_every_crafted_expression_flags_exactly_the_engines_rows(rows) -> None:
    batch = Batch(rows)
    for when, flags in CRAFTED_FLAGS:
        mask = flags.mask(batch.column, batch.n)
        assert mask.dtype == bool and mask.shape == (batch.n,), when
        assert mask.tolist() == expected(engine_of(when), rows), when


def test_arithmetic_on_text_is_refused_before_either_path_sees_it() -> None:
    for when in TEXT_ARITHMETIC:
        with pytest.raises(ConfigError, match="arithmetic on text"):
            engine_of(when)


def test_only_the_awkward_shapes_go_row_by_row() -> None:
    batch = Batch(sample_rows(3))
    for when, flags in CRAFTED_FLAGS:
        flags.mask(batch.column, batch.n)
        assert flags.row_by_row == (("r0",) if when in AWKWARD else ()), when


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=rows_strategy(20))
def test_shipped_rules_are_vectorised_and_exact(rows) -> None:
    flags, batch = VectorFlags(SHIPPED), Batch(rows)
    assert flag_mask(SHIPPED, batch.column, batch.n).tolist() == expected(SHIPPED, rows)
    assert flags.mask(batch.column, batch.n).tolist() == expected(SHIPPED, rows)
    assert flags.row_by_row == ()


def test_shipped_rules_fire_on_their_patterns() -> None:
    quiet = dict.fromkeys(FLOATS, 0.0) | dict.fromkeys(STRINGS, "US")
    burst = quiet | {"user_txn_count_1h": 9.0, "amount": 1.0}
    merchant = quiet | {"merchant_txn_count_7d": 40.0, "merchant_fraud_rate_7d": 0.6}
    batch = Batch([quiet, burst, merchant])
    assert flag_mask(SHIPPED, batch.column, batch.n).tolist() == [False, True, True]


def lists_strategy() -> st.SearchStrategy[dict]:
    ids = st.lists(st.sampled_from([s for s in STRING_POOL if s]), max_size=7)
    return st.fixed_dictionaries({key: ids for key in ("users", "merchants", "devices")})


@settings(max_examples=100, deadline=None, derandomize=True)
@given(rows=rows_strategy(), lists=lists_strategy(), countries=st.sampled_from([[], ["kp", "Us"]]))
def test_block_lists_flag_exactly_the_engines_rows(rows, lists, countries) -> None:
    batch = Batch(rows)
    for rules in ((), ("a > 1 and lat > 0",)):
        engine = engine_of(*rules, countries=countries, **lists)
        assert flag_mask(engine, batch.column, batch.n).tolist() == expected(engine, rows)


# Generated expressions: random text of the rule language; the engine is the oracle.

GENERATED_NAMES = ("a", "b", "amount", "lat", "country", "channel")
_LEAVES = st.sampled_from(
    [*GENERATED_NAMES, "0", "1", "3", "-2", "0.5", "-0.0"]
    + ["1e308", "True", "False", "'US'", "''", "'M'"]
)
_MEMBERS = st.lists(st.sampled_from(["0", "1", "-1", "0.5", "True", "'US'", "'M'", "''"]))


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.sampled_from(
            ["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "and", "or"]
        )
        return st.one_of(
            st.tuples(inner, binary, inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]}) < ({t[1]}) <= ({t[2]})"),
            st.tuples(inner, st.sampled_from(["in", "not in"]), _MEMBERS).map(
                lambda t: f"({t[0]}) {t[1]} [{', '.join(t[2])}]"
            ),
            inner.map(lambda e: f"not ({e})"),
            inner.map(lambda e: f"-({e})"),
        )

    return st.recursive(_LEAVES, extend, max_leaves=8)


@settings(max_examples=250, deadline=None, derandomize=True)
@given(when=_expressions(), rows=rows_strategy(8, GENERATED_NAMES))
def test_generated_expressions_flag_exactly_the_engines_rows(when, rows) -> None:
    try:
        engine = engine_of(when)
    except ConfigError:  # e.g. -('US'): refused at load
        reject()
    batch = Batch(rows, GENERATED_NAMES)
    assert flag_mask(engine, batch.column, batch.n).tolist() == expected(engine, rows), when


def test_each_column_is_read_once_and_only_if_needed() -> None:
    engine = DecisionEngine(
        SHIPPED.thresholds,
        [*SHIPPED.rules, compile_rule("x", "amount > 1 and country == 'US'", "BLOCK", NAMES)],
        Blocklists(countries=["KP"], devices=["d1"]),
    )
    flags, batch = VectorFlags(engine), Batch(sample_rows(5))
    flags.mask(batch.column, batch.n)
    assert sorted(batch.asked) == sorted(set(batch.asked)) and set(batch.asked) == flags.names
    assert flags.names == set().union(*(r.names for r in engine.rules)) | {"country", "device_id"}


def test_no_rules_no_lists_reads_nothing_and_empty_batches_work() -> None:
    batch = Batch([])
    assert flag_mask(engine_of(), batch.column, 0).shape == (0,)
    assert flag_mask(SHIPPED, batch.column, 0).shape == (0,)
    quiet = Batch(sample_rows(3))
    assert not flag_mask(engine_of(), quiet.column, quiet.n).any() and quiet.asked == []


def test_multi_line_when_parses_like_the_engine() -> None:
    batch = Batch([dict.fromkeys(FLOATS, 2.0) | dict.fromkeys(STRINGS, "US")])
    engine = engine_of("a > 1\n  and country == 'US'\n")
    assert flag_mask(engine, batch.column, batch.n).tolist() == [True]
