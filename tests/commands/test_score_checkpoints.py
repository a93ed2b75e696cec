"""A stream scored with `--state` checkpoints exactly the records whose decisions were
written: block by block on the column path (while later blocks are being decided), and on
Ctrl-C or SIGTERM on the record path (a real `fraud score` reading a pipe)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fraudcli.commands.score import score_file
from fraudcli.config.load import load_config
from fraudcli.io import jsonl_blocks
from fraudcli.state import keeper as keeper_module
from fraudcli.state.directory import read_state
from fraudcli.state.keeper import StateOptions


@pytest.fixture
def checkpoints(monkeypatch):
    """Every checkpoint saved: (reason, records covered, ids in its registry)."""
    saved = []
    save = keeper_module.StateKeeper.save

    def spy(self, tables, store, records, reason):
        ids = set(tables["transactions"]["transaction_id"].to_pylist())
        saved.append((reason, records, ids))
        save(self, tables, store, records, reason)

    monkeypatch.setattr(keeper_module.StateKeeper, "save", spy)
    return saved


def read_fifo(path: Path, into: list) -> threading.Thread:
    def run():
        with open(path, "rb") as fifo:
            into.append(fifo.read())

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_each_checkpoint_of_a_stream_covers_the_written_blocks(
    world, model_dir, tmp_path, checkpoints, monkeypatch
):
    monkeypatch.setattr(jsonl_blocks, "READ_BYTES", 60_000)  # blocks of about 250 lines
    source = tmp_path / "day.jsonl"
    source.write_text((world / "later.jsonl").read_text())
    fifo, got = tmp_path / "out", []
    os.mkfifo(fifo)
    reader = read_fifo(fifo, got)
    state = StateOptions(tmp_path / "s", checkpoint_every=1e-9)  # after every block
    score_file(source, fifo, config=load_config(), model_dir=model_dir, state=state)
    reader.join()
    written = [json.loads(line)["transaction_id"] for line in got[0].splitlines()]
    initial = checkpoints[0][2] - set(written)  # the bundle's ids
    assert len(checkpoints) > 5 and checkpoints[-1][1] == len(written) == 3000
    for reason, records, ids in checkpoints:
        assert ids - initial == set(written[:records]), (reason, records)
    final = read_state(tmp_path / "s").manifest["checkpoint"]
    assert (final["reason"], final["records"]) == ("end of run", len(written))


def _fraud(args, **popen) -> subprocess.Popen:
    root = Path(__file__).resolve().parents[2]
    code = "import sys; from fraudcli.cli import main; sys.argv[0] = 'fraud'; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_pipe_keeps_exactly_what_it_wrote(world, model_dir, tmp_path, sig, code):
    lines = (world / "later.jsonl").read_bytes().splitlines(keepends=True)
    state = tmp_path / "s"
    args = ["score", "--model", model_dir, "--state", state, "--checkpoint-every", "0.05"]
    process = _fraud(args)
    sent = 0
    for size in (40, 1, 25):  # a pause between batches: a periodic checkpoint falls due
        process.stdin.write(b"".join(lines[sent : sent + size]))
        process.stdin.flush()
        decided = [process.stdout.readline() for _ in range(size)]
        assert all(decided)
        sent += size
        if size == 40:
            import time

            time.sleep(0.1)
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, err.decode()
    saved = read_state(state)
    assert saved.manifest["checkpoint"]["reason"] == "stopped"
    assert saved.manifest["checkpoint"]["records"] == sent == 66
    ids = set(saved.tables["transactions"]["transaction_id"].to_pylist())
    mine = {json.loads(line)["transaction_id"] for line in lines[:200]}
    assert ids & mine == {json.loads(line)["transaction_id"] for line in lines[:sent]}
