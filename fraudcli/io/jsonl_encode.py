"""Arrow tables as JSONL bytes, built a column at a time with Arrow kernels.

`encode_jsonl(table)` gives the bytes `JsonlWriter.write(table.to_pylist())` writes, without a
Python object per row: each column becomes an array of JSON texts (Arrow's shortest float
digits, integer and bool casts, raw strings), and one element-wise join adds the keys, quotes
and brackets and makes the lines. The rare values whose Arrow text differs from json.dumps are
patched vectorised or, where that is not worth it, encoded by JsonlWriter's encoder one by one:

- strings holding `"`, `\\` or a control character (json.dumps escapes them);
- floats that are NaN, +-Infinity or in [1e10, 1e16) with a fraction (Arrow: `1.00000000001e+10`,
  repr: `10000000000.1`), once per distinct value;
- columns of a type other than string, float, integer, bool, dictionary and list of those.

The output is byte-identical to JsonlWriter's (the tests check it on random tables); a table
with no columns or with repeated column names is encoded row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fraudcli.io.json_text import DUMPS

__all__ = ["encode_jsonl", "jsonl_chunks"]

CHUNK_ROWS = 65536  # rows per kernel pass; a chunk's text must fit one string array (< 2 GiB)

_NON_FINITE = {"nan": "null", "inf": "null", "-inf": "null"}  # JSON has no NaN nor infinity
_Parts = tuple[str, pa.Array, str]  # JSON text of each value = opening + text + closing


def encode_jsonl(
    table: pa.Table | pa.RecordBatch, overrides: Mapping[int, str] | None = None
) -> bytes:
    """One JSON object per row (keys in column order) and a newline, as UTF-8 bytes.

    `overrides` maps a row index to ready JSON text (no newline) written instead of that row.

    >>> encode_jsonl(pa.table({"id": ["a"], "p": [1.0], "reasons": [[]]}))
    b'{"id":"a","p":1.0,"reasons":[]}\\n'
    """
    return b"".join(jsonl_chunks(table, overrides))


def jsonl_chunks(
    table: pa.Table | pa.RecordBatch, overrides: Mapping[int, str] | None = None
) -> Iterator[bytes | memoryview]:
    """`encode_jsonl`'s bytes in pieces (views of Arrow buffers and override texts) to write
    one by one: joining them is a copy that can cost a quarter of the encoding."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    overrides = dict(overrides or {})
    if any(not 0 <= row < table.num_rows for row in overrides):
        raise IndexError(f"override rows must be in [0, {table.num_rows})")
    names = table.column_names
    if not names or len(set(names)) < len(names):
        return iter([_encode_rows(table, overrides)])
    return _chunks(table, overrides)


def _chunks(table: pa.Table, overrides: dict[int, str]) -> Iterator[bytes | memoryview]:
    """The lines of each run of up to CHUNK_ROWS rows, cut around the overridden ones."""
    replaced = np.array(sorted(overrides), dtype=np.int64)
    start = 0
    for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
        end = start + batch.num_rows
        offsets, data = _layout(_lines(batch))
        mine = replaced[np.searchsorted(replaced, start) : np.searchsorted(replaced, end)]
        firsts, lasts = offsets[mine - start].tolist(), offsets[mine - start + 1].tolist()
        text, cut = memoryview(data or b""), int(offsets[0])
        for row, first, last in zip(mine.tolist(), firsts, lasts, strict=True):
            yield text[cut:first]
            yield (overrides[row] + "\n").encode()
            cut = last
        yield text[cut : int(offsets[-1])]
        start = end


def _encode_rows(table: pa.Table, overrides: dict[int, str]) -> bytes:
    """The slow, plainly right way: one encode per row."""
    rows = table.to_pylist()
    lines = [overrides[i] if i in overrides else DUMPS(row) for i, row in enumerate(rows)]
    return "".join(line + "\n" for line in lines).encode()


def _lines(batch: pa.RecordBatch) -> pa.Array:
    """Each row's JSON object and newline; constant text between values is joined once."""
    args: list[str | pa.Array] = []
    between = "{"
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        opening, texts, closing = _parts(column)
        args += [between + DUMPS(name) + ":" + opening, texts]
        between = closing + ","
    return pc.binary_join_element_wise(*args, between[:-1] + "}\n", "")


def _layout(strings: pa.StringArray) -> tuple[np.ndarray, pa.Buffer | None]:
    """The value offsets of a string array (len + 1 of them) and its data buffer."""
    _, offsets, data = strings.buffers()
    if not len(strings) or data is None:
        return np.zeros(len(strings) + 1, dtype=np.int32), None
    return np.frombuffer(offsets, np.int32, len(strings) + 1, 4 * strings.offset), data


def _parts(values: pa.Array) -> _Parts:
    """The JSON text of every value, with quotes or brackets left to the caller if it can."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        return _parts(values.dictionary_decode())
    if values.null_count:
        return "", _texts(values), ""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return '"', _string_texts(values.cast(pa.string())), '"'
    if pa.types.is_float64(kind) or pa.types.is_float32(kind):
        return "", _float_texts(values.cast(pa.float64())), ""
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "", values.cast(pa.string()), ""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return "[", _list_texts(values), "]"
    return "", pa.array([DUMPS(value) for value in values.to_pylist()], pa.string()), ""


def _texts(values: pa.Array) -> pa.Array:
    """The whole JSON text of every value, `null` for a null."""
    opening, texts, closing = _parts(values.drop_null() if values.null_count else values)
    if opening or closing:
        texts = pc.binary_join_element_wise(opening, texts, closing, "")
    if not values.null_count:
        return texts
    picks = np.full(len(values), len(texts))  # the "null" after the texts
    picks[values.is_valid().to_numpy(zero_copy_only=False)] = np.arange(len(texts))
    return pa.concat_arrays([texts, pa.array(["null"])]).take(picks)


def _string_texts(strings: pa.StringArray) -> pa.Array:
    """Strings as json.dumps writes them between the quotes."""
    offsets, data = _layout(strings)
    text = np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]] if data else np.empty(0)
    if not text.size or (text.min() >= 0x20 and not (text == 0x22).any() | (text == 0x5C).any()):
        return strings  # the usual case, found in a pass or three over the bytes
    escaped = (text < 0x20) | (text == 0x22) | (text == 0x5C)
    rows = np.zeros(len(strings), dtype=bool)
    rows[np.searchsorted(offsets, offsets[0] + np.flatnonzero(escaped), side="right") - 1] = True
    return _patch(strings, rows, [DUMPS(s)[1:-1] for s in strings.filter(rows).to_pylist()])


def _float_texts(floats: pa.DoubleArray) -> pa.Array:
    """Floats as repr writes them, from Arrow's shortest round-trip digits.

    Both give the same digits; only the layout differs. Arrow writes fixed notation for
    decimal exponents in [-6, 10) and one-digit exponents (1e-7); repr writes fixed for
    [-4, 16), with a '.' always, and two-digit exponents (1e-07). The thresholds are exact: a
    double's shortest digits reach 10**k exactly when the double reaches float(10**k).
    """
    x = floats.to_numpy(zero_copy_only=False)
    size = np.abs(x)
    texts = floats.cast(pa.string())
    with np.errstate(invalid="ignore"):  # trunc of a signalling NaN
        whole = x == np.trunc(x)
    texts = _fix(texts, whole & (size < 1e10), pc.binary_join_element_wise, ".0", "")  # 12.0
    big = whole & (size >= 1e10) & (size < 1e16)  # 1.2e+12 -> 1200000000000.0
    if big.any():
        digits = pa.array(x[big].astype(np.int64)).cast(pa.string())
        texts = _patch(texts, big, pc.binary_join_element_wise(digits, ".0", ""))
    tiny = (size >= 1e-9) & (size < 1e-6)
    texts = _fix(texts, tiny, pc.replace_substring, "e-", "e-0")  # 1e-7 -> 1e-07
    for exponent, low, high in ((5, 1e-5, 1e-4), (6, 1e-6, 1e-5)):  # 0.00001 -> 1e-05
        for sign in (0, 1):
            rows = (size >= low) & (size < high) & (np.signbit(x) == sign)
            texts = _fix(texts, rows, _exponent_form, exponent, sign)
    odd = ~np.isfinite(size) | (~whole & (size >= 1e10) & (size < 1e16))
    return _patch(texts, odd, _float_reprs(x[odd])) if odd.any() else texts


def _exponent_form(texts: pa.Array, exponent: int, sign: int) -> pa.Array:
    """Arrow's fixed text of floats of one sign and decimal exponent -5 or -6 in repr's form:
    the leading '0.0000' or '0.00000' out, a '.' after the first digit (unless it is the only
    one) and the exponent on."""
    digits = pc.binary_replace_slice(texts, sign, sign + exponent + 1, "")
    pointed = pc.binary_replace_slice(digits, sign + 1, sign + 1, ".")
    return pc.replace_substring(
        pc.binary_join_element_wise(pointed, f"e-0{exponent}", ""), ".e", "e"
    )


def _fix(texts: pa.Array, rows: np.ndarray, fix: Callable[..., pa.Array], *args) -> pa.Array:
    """`texts` with `fix(texts, *args)` applied to the `rows` (a bool mask) only."""
    return _patch(texts, rows, fix(texts.filter(rows), *args)) if rows.any() else texts


def _float_reprs(x: np.ndarray) -> pa.Array:
    """json.dumps of each float, computed once per distinct value (rounded data repeats)."""
    bits, rows = np.unique(x.view(np.int64), return_inverse=True)
    reprs = map(repr, bits.view(np.float64).tolist())  # what json.dumps writes if finite
    return pa.array([_NON_FINITE.get(r, r) for r in reprs], pa.string()).take(rows)


def _list_texts(lists: pa.ListArray | pa.LargeListArray) -> pa.Array:
    """The JSON texts of each list's values, joined by commas (brackets left to the caller)."""
    offsets = lists.offsets
    start, end = offsets[0].as_py(), offsets[-1].as_py()
    items = _texts(lists.values.slice(start, end - start))
    return pc.binary_join(type(lists).from_arrays(pc.subtract(offsets, start), items), ",")


def _patch(texts: pa.Array, rows: np.ndarray, new: pa.Array | Iterable[str]) -> pa.Array:
    """`texts` with the `rows` (a bool mask) replaced, in order, by `new`."""
    if not isinstance(new, pa.Array):
        new = pa.array(list(new), pa.string())
    picks = np.arange(len(texts))
    picks[rows] = len(texts) + np.arange(len(new))
    return pa.concat_arrays([texts, new]).take(picks)
