"""A pipe's state moves between the record path and the column path as batches grow and shrink
(`PipePaths`): whatever the moves, the output, the rejects and the state left behind are the
record path's (features to 1e-9, as on a file)."""

from __future__ import annotations

import json

import pytest

from fraudcli.config import load_config
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.scoring import piped
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle
from tests.scoring.test_blocks import assert_same

# the batches, in lines (the rest last); with the thresholds below: the column path from 64
# lines while the store is untouched, else from 200; back to the record path at the second
# batch of fewer than 100 in a row
SIZES = [80, 30, 20, 150, 500, 90, 5, 400, 3, 120, 250, 40, 60, 1000, 251]
TAKEN = [True, True, False, False, True, True, False, True, True, True, True, True, False]
TAKEN += [True, True, True]  # (True: the column path)


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch):
    paths = piped.PipePaths
    monkeypatch.setattr(paths, "ENTER_LINES", 200)
    monkeypatch.setattr(paths, "LEAVE_LINES", 100)
    monkeypatch.setattr(paths, "ENTER_PER_ENTRY", 10**9)
    monkeypatch.setattr(paths, "LEAVE_PER_ENTRY", 10**9)
    monkeypatch.setattr(paths, "ENTER_FRESH", (piped.BATCH_LINES, 10**9))


@pytest.fixture(scope="module")
def stream(world, tmp_path_factory):
    """The later sample with a bad line, a duplicate id within a batch and one across the
    moves between paths, and keys outside the schema."""
    lines = (world / "later.jsonl").read_text().splitlines()
    lines[50] = "{not json"
    lines[120] = json.dumps(json.loads(lines[118]) | {"note": "again"})  # in the same batch
    lines[760] = json.dumps(json.loads(lines[300]))  # in a later batch on the column path
    lines[1000] = json.dumps(json.loads(lines[130]))  # across moves between the paths
    lines[1200] = json.dumps(json.loads(lines[1200]) | {"amount": -5})
    for i in range(1500, 1700):
        lines[i] = json.dumps(json.loads(lines[i]) | {"note": [None, "x"][i % 3 == 0]})
    path = tmp_path_factory.mktemp("pipe") / "stream.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _through_the_pipe(source, model_dir, tmp_path, sizes, features=False):
    """`decided_pipe` on `source` cut into batches of `sizes` (the rest last): the output
    rows, the summary, the rejects, the run's state, and the path each batch took."""
    config = load_config()
    opened = open_bundle(config, model_dir)
    lines = source.read_bytes().splitlines()
    cuts, at = [], 0
    for size in [*sizes, len(lines)]:
        if at < len(lines):
            cuts.append(lines[at : at + size])
            at += size
    firsts = [1 + sum(len(c) for c in cuts[:k]) for k in range(len(cuts))]
    batches = (piped.arrived(c, f, config.columns) for c, f in zip(cuts, firsts, strict=True))
    taken = []
    route = piped.PipePaths.route

    def noted(self, n):
        taken.append(route(self, n))
        return taken[-1]

    summary, sink = RunSummary(), RejectSink(tmp_path / "got-rejects.jsonl")
    rows = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(piped.PipePaths, "route", noted)
        for scored in piped.decided_pipe(batches, opened, sink, summary, with_features=features):
            rows += _rows(scored)
    sink.close()
    return (rows, summary, _rejects(tmp_path / "got-rejects.jsonl")), opened.snapshot(), taken


def _record_path(source, model_dir, tmp_path, features=False):
    opened = open_bundle(load_config(), model_dir)
    summary, sink = RunSummary(), RejectSink(tmp_path / "want-rejects.jsonl")
    rows = []
    for scored in decided(source, opened, sink, summary, with_features=features, record_path=True):
        rows += _rows(scored)
    sink.close()
    return (rows, summary, _rejects(tmp_path / "want-rejects.jsonl")), opened.snapshot()


def _rows(scored) -> list[dict]:
    if scored.table is None:
        return list(scored.rows.values())
    rows = scored.table.to_pylist()
    for i, row in scored.rows.items():  # rows written whole (their own extra keys)
        rows[i] = row
    return rows


def _rejects(path) -> list[tuple[int, str, str]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [(r["line"], r["reason"], r["raw"]) for r in map(json.loads, lines)]


@pytest.mark.parametrize("features", [False, True])
def test_moves_between_paths_give_the_record_paths_output(stream, model_dir, tmp_path, features):
    got, _, taken = _through_the_pipe(stream, model_dir, tmp_path, SIZES, features)
    want, _ = _record_path(stream, model_dir, tmp_path, features)
    assert_same(got, want)
    assert want[1].rejected == 5 and [r[0] for r in want[2]] == [51, 121, 761, 1001, 1201]
    assert taken == TAKEN


def test_the_state_left_behind_continues_as_the_record_paths(stream, model_dir, tmp_path):
    """Each run's state scores the next lines alike (the state is the record path's)."""
    _, got_state, _ = _through_the_pipe(stream, model_dir, tmp_path, SIZES, features=True)
    _, want_state = _record_path(stream, model_dir, tmp_path, features=True)
    assert got_state["transactions"].equals(want_state["transactions"])
    later = tmp_path / "later.jsonl"
    lines = stream.read_text().splitlines()
    shifted = []  # the same records a day on, with new ids (and the old ones resent)
    for line in lines[2000:2400]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        record["transaction_id"] += "-next"
        record["timestamp"] = record["timestamp"].replace("2026-02-1", "2026-02-2")
        shifted.append(json.dumps(record))
    later.write_text("\n".join(shifted + lines[2900:2950]) + "\n")
    results = []
    for state in (got_state, want_state):
        opened = open_bundle(load_config(), model_dir)
        opened.continue_from(state)
        summary, sink = RunSummary(), RejectSink(None)
        rows = []
        for scored in decided(later, opened, sink, summary, with_features=True, record_path=True):
            rows += _rows(scored)
        results.append((rows, summary, []))
    assert_same(*results)
    assert results[0][1].rejected == 50  # the resent ids: duplicates by either state


def test_a_batch_the_columns_cannot_continue_stays_on_the_record_path(stream, model_dir, tmp_path):
    """A record later than the lateness in a column batch: that batch and every later one go
    record by record, with the record path's output."""
    lines = stream.read_text().splitlines()
    late = json.loads(lines[5]) | {"transaction_id": "very-late"}
    late["timestamp"] = "2026-02-07T12:00:00Z"  # days before its neighbours: beyond the lateness
    lines[700] = json.dumps(late)
    source = tmp_path / "late.jsonl"
    source.write_text("\n".join(lines) + "\n")
    got, _, taken = _through_the_pipe(source, model_dir, tmp_path, SIZES)
    want, _ = _record_path(source, model_dir, tmp_path)
    assert_same(got, want)
    assert taken[:5] == TAKEN[:5]  # the fifth holds the late line
    assert not any(taken[5:])
