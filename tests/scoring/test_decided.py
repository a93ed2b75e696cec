"""Data that starts before the feature state ends: a warning with both dates and what to do,
on either path; records late by less than the store's lateness are ordinary and say nothing."""

from __future__ import annotations

import json
import os
import sys
import threading

import pyarrow.parquet as pq

from fraudcli.commands.score import score_file
from fraudcli.config import load_config
from fraudcli.records.timestamps import format_timestamp
from tests.helpers import run


def _said(source, model_dir, tmp_path, **options) -> tuple[list[str], dict]:
    said: list[str] = []
    summary = score_file(
        source, tmp_path / "out.jsonl", config=load_config(), model_dir=model_dir,
        on_warning=said.append, **options,
    )  # fmt: skip
    return said, summary.to_dict()


def test_scoring_the_training_data_again_warns_with_both_dates(world, model_dir, tmp_path):
    train = pq.read_table(world / "train.parquet").slice(20_000, 2_000)
    source = tmp_path / "again.parquet"
    pq.write_table(train, source)
    said, summary = _said(source, model_dir, tmp_path)
    first = format_timestamp(train["timestamp"][0].as_py().timestamp())
    assert len(said) == 1 and summary["warnings"] == said
    assert f"starts at {first}, before the feature state" in said[0]
    assert "2026-02-09" in said[0] and "--fresh-state" in said[0]
    assert _said(source, model_dir, tmp_path, fresh_state=True)[0] == []


def test_late_records_within_the_lateness_say_nothing(world, model_dir, tmp_path):
    lines = (world / "later.jsonl").read_text().splitlines()
    middle = len(lines) // 2
    late = json.loads(lines[middle - 200]) | {"transaction_id": "late"}  # some 3 hours late
    lines.insert(middle, json.dumps(late))
    source = tmp_path / "stragglers.jsonl"
    source.write_text("\n".join(lines) + "\n")
    said, summary = _said(source, model_dir, tmp_path)
    assert said == [] and "warnings" not in summary and summary["written"] == 3001


def test_a_pipe_is_warned_too_on_stderr(world, model_dir, tmp_path):
    """`fraud score` on a pipe of old records: the warning on stderr, the decisions on stdout."""
    train = pq.read_table(world / "train.parquet").slice(0, 50).to_pylist()
    text = "".join(
        json.dumps(r | {"timestamp": format_timestamp(r["timestamp"].timestamp())}) + "\n"
        for r in train
    )
    result = run("score", "--model", model_dir, input=text)
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "--fresh-state" in result.stderr
    assert len(result.stdout.splitlines()) == 50


def test_the_warning_comes_before_the_records_are_decided(world, model_dir, tmp_path, monkeypatch):
    """A pipe that sends one old record and waits: the warning is out before the next line."""
    read, write = os.pipe()
    said: list[str] = []
    old = pq.read_table(world / "train.parquet").slice(0, 1).to_pylist()[0]
    line = json.dumps(old | {"timestamp": format_timestamp(old["timestamp"].timestamp())})
    heard = threading.Event()

    def feed():
        with open(write, "w") as sink:
            sink.write(line + "\n")
            sink.flush()
            heard.wait(60)  # the pipe stays open until the warning is out

    def warn(text: str) -> None:
        said.append(text)
        heard.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    with open(read, encoding="utf-8") as pipe:
        monkeypatch.setattr(sys, "stdin", pipe)
        options = {"config": load_config(), "model_dir": model_dir, "on_warning": warn}
        summary = score_file(None, tmp_path / "out.jsonl", **options)
    feeder.join()
    assert len(said) == 1 and summary.written == 1
