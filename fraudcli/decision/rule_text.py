"""A rule's `when` text: bounded in size before it is parsed, parsed, and quoted in messages.

A rule is a short expression (the shipped ones are under 100 characters). Python's parser and
the closures built from its tree both recurse, one level per nested operator, so size and depth
are bounded before and after parsing:

    MAX_CHARS = 4,000    characters, checked first, so a 10 MB rule costs nothing
    MAX_DEPTH = 50       levels of nesting in the tree: a bound computed from the tokens is
                         checked before parsing, the exact depth after
    MAX_NODES = 1,000    expression nodes (each member of an `in [...]` list counts)

Unbounded, CPython 3.11's `ast.parse` gives RecursionError on 3,000 nested `-` and MemoryError
on 10,000 `not`s; a chain of 1,000 `+` parses, but evaluating it overflows the stack. Whatever
`ast.parse` still raises becomes a ConfigError naming the rule, quoting at most `QUOTE_CHARS`
of the text.
"""

from __future__ import annotations

import ast
import io
import tokenize

from fraudcli.errors import ConfigError

MAX_CHARS = 4_000
MAX_DEPTH = 50
MAX_NODES = 1_000
QUOTE_CHARS = 60

# The token bound (see `depth_bound`) counts every level a bracket may add without an operator
# of its own (a container, `or`, `and`, a comparison, the leaf...), so it may exceed the true
# depth by that much per bracket: it is held to a looser limit, still far below the ~3,000
# levels at which CPython 3.11's parser fails. The exact depth is then checked on the tree.
_PER_BRACKET = 8
_TOKEN_LIMIT = 10 * MAX_DEPTH
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!=", "in", "is"})
_LOOSEST = frozenset({"if", "else", "lambda"})  # below `or`: IfExp and Lambda nest to the right


def shown(text: object, limit: int = QUOTE_CHARS) -> str:
    """`repr(text)`, cut to `limit` characters with the full length said: safe in any message.

    >>> shown("amount > 1")
    "'amount > 1'"
    >>> shown("x" * 100, 10)
    "'xxxxxxxxxx…' (100 characters)"
    """
    if not isinstance(text, str):
        return _short_repr(text, limit)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}"[:-1] + f"…' ({len(text):,} characters)"


def _short_repr(value: object, limit: int) -> str:
    if isinstance(value, (list, tuple)):  # may nest deeply: never repr'd
        return f"an array of {len(value):,} value{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"a table of {len(value):,} key{'s' * (len(value) != 1)}"
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's 4,300-digit conversion limit
        return f"an integer of {value.bit_length():,} bits"
    return text if len(text) <= limit else text[:limit] + "…"


def code(node: ast.AST) -> str:
    """A piece of the tree as source for a message, cut to QUOTE_CHARS characters."""
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError):  # a huge integer literal; a deep tree
        return f"<{type(node).__name__}>"
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"


def parse_when(rule: str, when: str) -> ast.expr:
    """The expression tree of `when`, within the limits above; ConfigError naming `rule` if not.

    Lines are joined, so a rule can span a TOML multi-line string.
    """
    where = f"rule {shown(rule)}"
    source = " ".join(when.strip().splitlines())
    if len(source) > MAX_CHARS:
        raise ConfigError(
            f"{where}: expression is {len(source):,} characters long; the limit is {MAX_CHARS:,}"
        )
    if quick_bound(source) > _TOKEN_LIMIT and depth_bound(source) > _TOKEN_LIMIT:
        raise ConfigError(f"{where}: expression is nested too deeply (limit {MAX_DEPTH} levels)")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"{where}: invalid expression {shown(when)}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL byte (older Pythons); depth
        raise ConfigError(
            f"{where}: invalid expression {shown(when)}: {type(exc).__name__}"
        ) from None
    _check_tree(where, tree.body)
    return tree.body


def _check_tree(where: str, root: ast.expr) -> None:
    """Exact depth and node count of the expression nodes, walked without recursion."""
    nodes, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"{where}: expression is nested too deeply (limit {MAX_DEPTH} levels)"
            )
        if nodes > MAX_NODES:
            raise ConfigError(f"{where}: expression has more than {MAX_NODES:,} parts")
        stack.extend((child, depth + 1) for child in _children(node))


_LEAF_KINDS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def _children(node: ast.AST) -> list[ast.AST]:
    """Child nodes, without the operator and context markers (leaves of no interest)."""
    return [c for c in ast.iter_child_nodes(node) if not isinstance(c, _LEAF_KINDS)]


def quick_bound(source: str) -> int:
    """An upper bound of `depth_bound` from the characters alone: each opening bracket adds at
    most `_PER_BRACKET`, every other token at most 1, and a token is a character or more. Most
    rules are under the limit by this count and skip the tokenizer, whose first use compiles
    its regular expressions (10-20 ms of every start)."""
    return _PER_BRACKET * (1 + sum(map(source.count, _OPEN))) + len(source)


def depth_bound(source: str) -> int:
    """An upper bound of the tree's depth, from the tokens alone (no recursion, no parsing).

    Within one pair of brackets, the tree's depth is at most the operators on the way down plus a
    few levels that need no operator token (`_PER_BRACKET`). Operators are counted in three
    groups, each reset where Python's grammar starts a new operand of that kind: arithmetic,
    unary signs, `.`, `:` and trailing brackets (the tightest) at comparisons, `and`/`or` and
    commas; `not` at `and`/`or` and commas; `if`/`else`/`lambda` at commas.
    """
    deepest, saved = 0, []
    base, counts = 0, [0, 0, 0]  # tight, not, loosest
    for kind, text in _tokens(source):
        if kind == tokenize.OP and text in _OPEN:
            saved.append((base, counts))
            base, counts = base + sum(counts) + _PER_BRACKET, [0, 0, 0]
        elif kind == tokenize.OP and text in _CLOSE:
            if saved:
                base, counts = saved.pop()
            counts[0] += 1  # a call or subscript after an operand nests it once more
        elif text == ",":
            counts = [0, 0, 0]
        elif text in ("and", "or"):
            counts[0] = counts[1] = 0
        elif text in _COMPARISONS:
            counts[0] = 0
        elif text == "not":
            counts[1] += 1
        elif text in _LOOSEST:
            counts[2] += 1
        elif kind == tokenize.OP:
            counts[0] += 1
        deepest = max(deepest, base + sum(counts) + _PER_BRACKET)
    return deepest


def _tokens(source: str):
    """(type, text) of each token; stops quietly where the tokenizer gives up (unbalanced
    brackets, a stray character...), leaving the error to `ast.parse`."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            yield token.type, token.string
    except (tokenize.TokenError, SyntaxError):
        return
