"""Keys outside the schema in the lines of a block of `fraudcli.io.jsonl_blocks`, taken from
Arrow's columns as `json.loads` would give them, without the one-line parser.

A key is found in the text of each line (quoted, then a colon: no line read here has escapes,
nested objects or arrays, so that is a key of the line's own object and nothing else). Its
values are `json.loads`' where Arrow typed the column as text, integer, bool or null; a float
column is taken where the number was written as a float (a '.' or an exponent), since Arrow's
float hides whether `2` was an int. Then:

- keys on at least half the lines are *carried*: one column each, which the lines holding
  exactly those keys, in the order most lines have them, take as they are;
- every other line (a carried key missing, another order, a key on few lines such as the
  simulator's `fraud_pattern`) lists its own keys and values in its line's order;
- a line is left to the record path only where the text cannot be read so plainly: a key
  written with a space before its colon, an int in a float column, a column of another type.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pyarrow as pa

_EXACT = (pa.string(), pa.int64(), pa.bool_(), pa.null())  # as json.loads reads them
_WINDOW = 48  # bytes of a float's text looked at; a longer number goes to the record path
_NUMBER_END = np.frombuffer(b",} \t\r\n", np.uint8)
_FLOAT_MARKS = np.frombuffer(b".eE", np.uint8)


def keys_outside(body: bytes, starts, ends, parsed, get, keys, ok, text=None) -> tuple:
    """The carried columns of the rows left `ok` (narrowed in place), and the own extras of
    each of them that has others, by its place among those rows. `parsed` are the line of
    each row of Arrow's table `get`; `starts`/`ends` bound every line of `body`. `text`, when
    given, is the text of exactly the parsed rows."""
    if text is not None and len(keys) == 1:
        (name,) = keys
        if name in get and get[name].type in _EXACT and _on_every_line(text, name, len(ok)):
            return {name: get[name].filter(pa.array(ok))}, {}
    arr = np.frombuffer(body, np.uint8)
    places = {}
    for name in sorted(keys):
        pattern = f'"{name}":'.encode()
        as_key, anywhere = (at[parsed] for at in _key_at(body, ends, name))
        present = as_key >= 0
        ok &= present | (anywhere < 0)  # `"name" :` or the like: the record path reads it
        column = get.get(name)
        if column is None or not (column.type in _EXACT or pa.types.is_float64(column.type)):
            ok &= ~present
            continue
        if pa.types.is_float64(column.type):  # a whole number may have been an int
            values = column.to_numpy(zero_copy_only=False)
            whole = present & (values == np.trunc(values))  # NaN (null) is not
            ok &= _float_literals(arr, np.where(whole, as_key + len(pattern), -1))
        places[name] = np.where(present, as_key - starts[parsed], -1)
    carried = [name for name in places if 2 * np.count_nonzero(places[name] >= 0) >= len(ok)]
    carried.sort(key=lambda name: np.median(places[name][places[name] >= 0]))
    layout = np.ones(len(ok), dtype=bool)
    for name in carried:
        layout &= places[name] >= 0
    for before, after in pairwise(carried):  # the order most lines have
        layout &= places[before] < places[after]
    for name in set(places) - set(carried):
        layout &= places[name] < 0
    keep = pa.array(ok)
    columns = {name: get[name].filter(keep) for name in carried}
    own = _own_extras(get, places, np.flatnonzero(ok & ~layout), np.flatnonzero(ok))
    return columns, own


def _on_every_line(text: bytes, name: str, lines: int) -> bool:
    """Whether each of the `lines` lines of `text` holds `name` once, as a key: as many times
    as there are lines, each time followed by a colon (a line read by Arrow has no key twice),
    the usual case of a key pandas writes on every line, null or not."""
    quoted = f'"{name}"'.encode()
    return text.count(quoted + b":") == lines == text.count(quoted)


def _own_extras(get, places: dict, rows: np.ndarray, kept: np.ndarray) -> dict[int, dict]:
    """Each of `rows`' keys outside the schema and values, in its line's order, by the row's
    place among the `kept` rows."""
    where = np.searchsorted(kept, rows).tolist()
    if not len(rows) or not places:
        return {row: {} for row in where}
    names = list(places)
    at = np.stack([places[name][rows] for name in names], axis=1)
    take = pa.array(rows)
    values = [get[name].take(take).to_pylist() for name in names]
    orders, present = np.argsort(at, axis=1).tolist(), (at >= 0).tolist()
    return {
        row: {names[k]: values[k][i] for k in order if present[i][k]}
        for i, (row, order) in enumerate(zip(where, orders, strict=True))
    }


def _float_literals(arr: np.ndarray, value_at: np.ndarray) -> np.ndarray:
    """Where the number starting at each of `value_at` (after a key's colon, maybe after
    spaces) is written as a float: a '.', 'e' or 'E' before it ends. -1 entries are True."""
    out = np.ones(len(value_at), dtype=bool)
    rows = np.flatnonzero(value_at >= 0)
    if not len(rows):
        return out
    window = np.minimum(value_at[rows, None] + np.arange(_WINDOW), len(arr) - 1)
    text = arr[window]
    lead = np.argmin((text == 32) | (text == 9), axis=1)  # the number's first byte
    after = np.arange(_WINDOW) >= lead[:, None]
    ends = after & np.isin(text, _NUMBER_END)
    has_end = ends.any(axis=1)
    stop = np.where(has_end, np.argmax(ends, axis=1), 0)
    inside = after & (np.arange(_WINDOW) < stop[:, None])
    out[rows] = has_end & (inside & np.isin(text, _FLOAT_MARKS)).any(axis=1)
    return out


def _key_at(body: bytes, ends: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Where each line (bounds `ends`) first holds `key` as a JSON key (quoted, then a colon)
    and as any JSON string; -1 where nowhere. No line read here has escapes."""
    quoted, i, at = f'"{key}"'.encode(), -1, []
    while (i := body.find(quoted, i + 1)) >= 0:
        at.append(i)
    at = np.array(at, dtype=np.int64)
    after = np.frombuffer(body, np.uint8)[np.minimum(at + len(quoted), len(body) - 1)]
    return _first_by_line(at[after == ord(":")], ends), _first_by_line(at, ends)


def _first_by_line(at: np.ndarray, ends: np.ndarray) -> np.ndarray:
    first = np.full(len(ends), -1, dtype=np.int64)
    first[np.searchsorted(ends, at)[::-1]] = at[::-1]  # the last write wins: each line's first
    return first
