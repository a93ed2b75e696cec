"""Fuzzing the commands with random bytes and random JSON values in every field: never a
traceback, always a documented exit code, and every record read is written or rejected."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudcli.records.schema import FIELDS
from tests.helpers import run

EXIT_CODES = {0, 1, 2, 3, 4, 5, 6, 130, 141}
SUMMARY = re.compile(r"read ([\d,]+) = written ([\d,]+) \+ rejected ([\d,]+)")
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    | st.sampled_from(["[/b]", "[red]", "\x1b[31m", "2026-02-11T00:00:00Z", "=cmd", "NaN"])
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
GOOD = {"transaction_id": "t", "timestamp": "2026-02-11T00:00:00Z", "user_id": "u", "amount": 5.0}


@st.composite
def records(draw) -> str:
    """A line: a good record with some of its fields (or extra keys) replaced by anything."""
    record = dict(GOOD, transaction_id=draw(st.text(min_size=1, max_size=6)))
    for name in draw(st.lists(st.sampled_from([*FIELDS, "extra"]), max_size=4)):
        record[name] = draw(values)
    return json.dumps(record, allow_nan=True)


lines = st.lists(
    records() | st.binary(max_size=40).map(lambda b: b.decode("utf-8", "replace")),
    min_size=1,
    max_size=12,
)


def assert_accounted(result, n_lines: int) -> None:
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in EXIT_CODES, result.output
    if result.exit_code == 0:
        read, written, rejected = (int(n.replace(",", "")) for n in
                                   SUMMARY.search(result.stderr).groups())  # fmt: skip
        assert read == written + rejected and read >= n_lines - 1  # a last empty line
        rows = result.stdout.split("\n")[:-1]  # not splitlines: an id may hold U+0085 or U+2028
        assert written == len(rows)
        for row in rows:
            json.loads(row, parse_constant=lambda name: 1 / 0)  # valid JSON: no NaN, Infinity


@FUZZ
@given(lines)
def test_random_json_lines_through_a_file_and_a_pipe(model_dir, tmp_path, rows):
    source = tmp_path / "fuzz.jsonl"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8", errors="surrogatepass")
    text = source.read_text(encoding="utf-8", errors="replace")
    assert_accounted(run("score", source, "--model", model_dir), len(rows))
    assert_accounted(run("score", "--model", model_dir, input=text), len(rows))


@settings(FUZZ, max_examples=10)
@given(st.binary(max_size=400))
def test_random_bytes_in_every_format(model_dir, tmp_path, data):
    for suffix in (".jsonl", ".csv", ".parquet"):
        source = tmp_path / f"fuzz{suffix}"
        source.write_bytes(data)
        result = run("score", source, "--model", model_dir)
        assert "Traceback" not in result.output and result.exit_code in EXIT_CODES, result.output
        result = run("features", source)
        assert "Traceback" not in result.output and result.exit_code in EXIT_CODES, result.output
