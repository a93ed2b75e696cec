"""Arrow's JSON reader over the plain lines of a block of `fraudcli.io.jsonl_blocks`: the schema
it reads them with, and the lines it refuses found and left out.

Arrow refuses a whole read for one line it will not take (malformed, a key outside the schema,
a value of another JSON type, a key twice). Most refusals name the row, which is cut out and
the lines either side read again; the others are found by halving the run, down to runs of
_MIN_HALF lines, which the caller reads line by line on the record path.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

TEXT = ("transaction_id", "user_id", "merchant_id", "merchant_category", "country")
TEXT += ("device_id", "channel")
_NUMBERS = ("amount", "lat", "lon", "is_fraud")
_SCHEMA = pa.schema(
    [(name, pa.string()) for name in (*TEXT, "timestamp")]
    + [(name, pa.float64()) for name in _NUMBERS]
)
PARSE = pj.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="infer")
# timestamps written as epoch numbers (Kafka Connect): a text timestamp is then refused
_EPOCH_SCHEMA = _SCHEMA.set(
    _SCHEMA.get_field_index("timestamp"), pa.field("timestamp", pa.float64())
)
PARSE_EPOCH = pj.ParseOptions(explicit_schema=_EPOCH_SCHEMA, unexpected_field_behavior="infer")
_ROW = re.compile(r" in row (\d+)\.?$")
_FIELD_SET = frozenset(_SCHEMA.names)
Parsed = tuple[pa.Table | None, np.ndarray, set[str]]
_MIN_HALF = 64  # a refused run this short goes line by line rather than be halved again


def parse_text(text: pa.Buffer, offsets: np.ndarray, epoch: bool = False) -> Parsed:
    """Arrow's table of the lines of `text` (bounds `offsets`), which lines it holds (every
    one when Arrow reads them all at once, else all but the lines it refuses), and the keys
    outside the schema it met (also columns of the table unless two runs typed one apart).
    `epoch`: timestamps are read as numbers (a line with text there is refused)."""
    n = len(offsets) - 1
    if not n:
        return None, np.zeros(0, dtype=np.int64), set()
    parse = PARSE_EPOCH if epoch else PARSE
    try:
        table = _read(text, parse, threads=True)
        if table.num_rows == n:
            return table, np.arange(n), _extra_keys(table)
    except pa.ArrowInvalid:
        pass
    return _read_around_refusals(text, offsets, parse)


def _extra_keys(table: pa.Table) -> set[str]:
    return set(table.column_names) - _FIELD_SET


def _read(data: pa.Buffer, parse: pj.ParseOptions, threads: bool) -> pa.Table:
    size = (1 << 24) if threads else len(data) + 1  # one block: refusals name the exact row
    options = pj.ReadOptions(use_threads=threads, block_size=size)
    return pj.read_json(pa.BufferReader(data), read_options=options, parse_options=parse)


def _read_around_refusals(data: pa.Buffer, offsets: np.ndarray, parse) -> Parsed:
    """Runs of lines parsed one block each; a refused line is cut out where Arrow names its
    row, else the run is halved, down to runs of _MIN_HALF that go line by line."""
    pending, tables, held, extras = [(0, len(offsets) - 1)], [], [], set()
    while pending:
        a, b = pending.pop()
        if a >= b:
            continue
        piece = data.slice(int(offsets[a]), int(offsets[b] - offsets[a]))
        try:
            table = _read(piece, parse, threads=False)
        except pa.ArrowInvalid as exc:
            found = _ROW.search(str(exc))
            row = int(found[1]) if found else b - a
            if row < b - a:
                pending += [(a + row + 1, b), (a, a + row)]
            elif b - a > _MIN_HALF:
                pending += [((a + b) // 2, b), (a, (a + b) // 2)]
            continue
        if table.num_rows == b - a:
            tables.append((a, table))
            held.append(np.arange(a, b))
            extras |= _extra_keys(table)
    if not tables:
        return None, np.zeros(0, dtype=np.int64), extras
    order = [i for i in np.argsort([a for a, _ in tables]) if _typed_as_most(tables[i][1], tables)]
    runs = [tables[i][1] for i in order]
    try:  # a key missing from a run is null there
        table = pa.concat_tables(runs, promote_options="default")
    except pa.ArrowException:  # keys of two types: none is carried
        table = pa.concat_tables([run.select(_SCHEMA.names) for run in runs])
    return table, np.concatenate([held[i] for i in order]), extras


def _typed_as_most(run: pa.Table, tables: list[tuple[int, pa.Table]]) -> bool:
    """False if `run` types a key outside the schema otherwise than most rows do (Arrow names
    the line after the odd one when it comes first in a run): its lines go line by line."""
    for field in run.schema:
        if field.name in _FIELD_SET or field.type == pa.null():
            continue
        rows: dict[pa.DataType, int] = {}
        for _, other in tables:
            kind = other.schema.field(field.name).type if field.name in other.schema.names else None
            if kind is not None and kind != pa.null():
                rows[kind] = rows.get(kind, 0) + other.num_rows
        if max(rows, key=rows.get) != field.type:
            return False
    return True
