"""`fraud score --state`: a stream scored in k consecutive runs gives the output of one run over
the whole stream, byte for byte, wherever it is cut, on the column path and the record path;
resent ids are duplicates in a later run; the state's checks and its commit with the output."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudcli.commands.evaluate import evaluate_file
from fraudcli.commands.score import score_file
from fraudcli.config.load import load_config
from fraudcli.errors import StateError, UsageError
from fraudcli.features.store import StoreConfig
from fraudcli.records.timestamps import format_timestamp
from fraudcli.state.directory import read_state
from fraudcli.state.keeper import StateOptions

N = 400


class Lines(list):
    """The stream's lines, shown short in Hypothesis' reports."""

    def __repr__(self) -> str:
        return f"<{len(self)} lines>"


@pytest.fixture(scope="module")
def stream(world) -> list[str]:
    """The later sample's first lines, with a resent id, records a day and three days late
    (beyond the lateness: the column path hands their blocks to the record path), and one
    repeated much later than the dedupe window would not be a duplicate (none here: 2 days)."""
    rows = [json.loads(line) for line in (world / "later.jsonl").read_text().splitlines()[:N]]
    rows.insert(150, dict(rows[20]))  # resent
    for i, days in ((200, 1.2), (320, 3.0)):
        late = dict(rows[i - 1], transaction_id=f"late-{i}")
        ts = json_ts(rows[i - 1]["timestamp"]) - days * 86400
        rows.insert(i, late | {"timestamp": format_timestamp(ts)})
    return Lines(json.dumps(row) for row in rows)


def json_ts(text: str) -> float:
    from fraudcli.records.timestamps import parse_timestamp

    return parse_timestamp(text)


def scored_in_runs(lines, cuts, model_dir, root: Path, record: bool) -> tuple[bytes, dict]:
    """Score `lines` cut at `cuts`, one run per part, one state carried through; the outputs
    joined, and the final state's tables."""
    state, out = root / "state", b""
    bounds = [0, *sorted(cuts), len(lines)]
    for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        source, output = root / f"in{k}.jsonl", root / f"out{k}.jsonl"
        source.write_text("".join(line + "\n" for line in lines[a:b]))
        score_file(
            source,
            output,
            config=load_config(),
            model_dir=model_dir,
            state=StateOptions(state),
            with_features=record,  # the record path: exact to the bit, features included
            record_path=record,
        )
        out += output.read_bytes()
    return out, read_state(state).tables


def _live(name: str, table: pa.Table) -> list:
    """The rows of a state table a lookup can still see (expiry may keep more: the one-record
    store expires in chunks, the column state exactly), in a canonical order."""
    key = {"user_entries": "user_id", "merchant_entries": "merchant_id"}.get(name)
    rows = table.to_pylist()
    if key is not None:
        horizon = StoreConfig().user_horizon if key == "user_id" else StoreConfig().merchant_horizon
        newest: dict = {}
        for row in rows:
            newest[row[key]] = max(newest.get(row[key], row["ts"]), row["ts"])
        rows = [row for row in rows if row["ts"] > newest[row[key]] - horizon]
    # an amount the one-record store wrote is its running sums' difference: to 1e-9
    rounded = [
        {k: round(v, 9) if isinstance(v, float) else v for k, v in row.items() if k != "cum_amount"}
        for row in rows
    ]
    return sorted(map(repr, rounded))


@pytest.mark.parametrize("record", [False, True], ids=["column path", "record path"])
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(0, N + 3), min_size=1, max_size=3))
def test_k_runs_with_a_state_are_one_run(stream, model_dir, record, cuts):
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as many:
        want, want_state = scored_in_runs(stream, [], model_dir, Path(one), record)
        got, got_state = scored_in_runs(stream, cuts, model_dir, Path(many), record)
    assert got == want
    assert len(want.splitlines()) == len(stream) - 1  # the resent id is a duplicate
    for name, table in want_state.items():
        if record:  # the one-record store restores to the very same floats and order
            assert got_state[name].equals(table), name
        else:  # blocks on the record path or not, keys coded in another order: the same
            assert _live(name, got_state[name]) == _live(name, table), name


def test_a_resent_id_in_a_later_run_is_a_duplicate(stream, model_dir, tmp_path):
    source = tmp_path / "day.jsonl"
    source.write_text("\n".join(stream[:50]) + "\n")
    options = dict(config=load_config(), model_dir=model_dir, state=StateOptions(tmp_path / "s"))
    first = score_file(source, tmp_path / "1.jsonl", **options)
    again = score_file(source, tmp_path / "2.jsonl", rejects_path=tmp_path / "r.jsonl", **options)
    assert (first.written, first.rejected) == (50, 0)
    assert (again.written, again.rejected) == (0, 50)
    rejects = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert rejects[0]["reason"].startswith("duplicate transaction_id")
    assert rejects[0]["line"] == 1 and rejects[0]["raw"] == stream[0]


def test_fresh_state_over_a_state_needs_overwrite(stream, model_dir, tmp_path):
    source = tmp_path / "day.jsonl"
    source.write_text("\n".join(stream[:20]) + "\n")
    state = tmp_path / "s"
    options = dict(config=load_config(), model_dir=model_dir)
    score_file(source, tmp_path / "1.jsonl", state=StateOptions(state), **options)
    with pytest.raises(UsageError, match="--overwrite-state"):
        score_file(source, tmp_path / "2.jsonl", state=StateOptions(state, fresh=True), **options)
    assert not (tmp_path / "2.jsonl").exists()
    again = StateOptions(state, fresh=True, overwrite=True)
    summary = score_file(source, tmp_path / "3.jsonl", state=again, **options)
    assert summary.rejected == 0  # an empty state: nothing is a duplicate
    assert read_state(state).manifest["counts"]["transactions"] == 20


def test_a_state_for_other_settings_or_edited_is_refused(stream, model_dir, tmp_path):
    source = tmp_path / "day.jsonl"
    source.write_text("\n".join(stream[:20]) + "\n")
    state = tmp_path / "s"
    options = dict(config=load_config(), model_dir=model_dir, state=StateOptions(state))
    score_file(source, tmp_path / "1.jsonl", **options)
    manifest = json.loads((state / "manifest.json").read_text())
    (state / "manifest.json").write_text(json.dumps(manifest | {"newest": 0.0}))
    with pytest.raises(StateError, match="seal"):
        score_file(source, tmp_path / "2.jsonl", **options)
    other = tmp_path / "other"
    score_file(source, tmp_path / "3.jsonl", config=load_config(), model_dir=model_dir,
               state=StateOptions(other))  # fmt: skip
    (other / "user_last.arrow").write_bytes(b"ARROW1 not really")
    with pytest.raises(StateError, match="checksum"):
        score_file(source, tmp_path / "4.jsonl", **options | {"state": StateOptions(other)})
    assert not (tmp_path / "2.jsonl").exists() and not (tmp_path / "4.jsonl").exists()


def test_evaluate_reads_a_state_and_leaves_it(world, model_dir, tmp_path):
    lines = (world / "later.jsonl").read_text().splitlines()
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("\n".join(lines[:1500]) + "\n")
    rest.write_text("\n".join(lines[1500:]) + "\n")
    state = tmp_path / "s"
    score_file(first, tmp_path / "o.jsonl", config=load_config(), model_dir=model_dir,
               state=StateOptions(state))  # fmt: skip
    before = (state / "manifest.json").read_bytes()
    result = evaluate_file(rest, config=load_config(), model_dir=model_dir, state_path=state)
    assert (state / "manifest.json").read_bytes() == before
    assert result.summary.written == len(lines) - 1500
