"""A pipe: each line decided as soon as it arrives, and lines that arrive together decided as a
batch (parsed as a block, judged over columns) with the record path's output."""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import threading
import time

from fraudcli.commands.score import score_file
from fraudcli.config import load_config
from fraudcli.io import lines as io_lines
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.scoring import piped
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle


def _readline(stream, seconds: float) -> bytes:
    """A line from `stream`, or b"" if none comes within `seconds`."""
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else b""


def test_a_lone_line_is_answered_before_the_next_is_written(world, model_dir):
    """`fraud score` reading a pipe: each line written alone (the stream then idle) gets its
    decision on stdout at once, before the next line exists."""
    lines = (world / "later.jsonl").read_text().splitlines()[:4]
    command = [sys.executable, "-c", "from fraudcli.cli import main; main()"]
    process = subprocess.Popen(
        [*command, "score", "--model", str(model_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for line in lines:
            process.stdin.write(line.encode() + b"\n")
            process.stdin.flush()
            answer = _readline(process.stdout, 60.0)  # start-up included for the first
            assert json.loads(answer)["transaction_id"] == json.loads(line)["transaction_id"]
        started = time.perf_counter()
        process.stdin.write(lines[0].replace("tx-", "ty-").encode() + b"\n")
        process.stdin.flush()
        assert _readline(process.stdout, 5.0)
        assert time.perf_counter() - started < 1.0  # a warm pipe answers in milliseconds
    finally:
        process.stdin.close()
        process.wait(60)
        process.stdout.close()
    assert process.returncode == 0


def _decided_through_a_pipe(source, model_dir, tmp_path, pieces, monkeypatch) -> tuple:
    """`score_file` on stdin fed from `source` in writes of the given sizes."""
    data = source.read_bytes()
    read, write = os.pipe()

    def feed():
        with open(write, "wb") as sink:
            at = 0
            for k, size in enumerate(pieces):
                sink.write(data[at : at + size])
                sink.flush()
                at += size
                time.sleep(0.5 if k == 0 else 0.002)  # the first lines alone, surely
            sink.write(data[at:])

    feeder = threading.Thread(target=feed)
    feeder.start()
    with open(read, "rb") as pipe:
        monkeypatch.setattr(sys, "stdin", pipe)
        out, rejects = tmp_path / "piped.jsonl", tmp_path / "piped-rejects.jsonl"
        options = {"config": load_config(), "model_dir": model_dir, "rejects_path": rejects}
        summary = score_file(None, out, **options)
    feeder.join()
    return out.read_text().splitlines(), summary, rejects.read_text().splitlines()


def test_lines_arriving_together_give_the_record_paths_output(
    world, model_dir, tmp_path, monkeypatch
):
    """Bad lines, a duplicate in a batch and one across batches, extra keys: written in lumps
    of a few lines and of hundreds, then compared with the record path on the file."""
    lines = (world / "later.jsonl").read_text().splitlines()
    lines[40] = "{not json"
    lines[700] = json.dumps(json.loads(lines[3]) | {"note": "again"})  # a duplicate id
    lines[701] = json.dumps(json.loads(lines[702]))  # its id again on the next line
    lines[900] = json.dumps(json.loads(lines[900]) | {"amount": -1})
    for i in range(1000, 1300):
        lines[i] = json.dumps(json.loads(lines[i]) | {"note": [None, "x"][i % 2]})
    source = tmp_path / "stream.jsonl"
    source.write_text("\n".join(lines) + "\n")
    rng = random.Random(4)
    pieces = [len(lines[0]) + 1] + [rng.choice([90, 300, 5000, 60_000]) for _ in range(60)]
    batches: list = []
    monkeypatch.setattr(piped, "decided_pipe", _spy(piped.decided_pipe, batches))
    got, summary, rejects = _decided_through_a_pipe(
        source, model_dir, tmp_path, pieces, monkeypatch
    )
    opened, sink = open_bundle(load_config(), model_dir), RejectSink(tmp_path / "want.jsonl")
    want = []
    for batch in decided(source, opened, sink, RunSummary(), record_path=True):
        want += [
            json.dumps(row, separators=(",", ":"), ensure_ascii=False)
            for row in batch.rows.values()
        ]
    sink.close()
    assert got == want
    assert [json.loads(r)["line"] for r in rejects] == [41, 701, 703, 901]
    assert summary.read == 3000 and summary.rejected == 4
    kinds = {type(batch).__name__ for batch in batches}
    assert kinds == {"list", "Arrived"}  # both ways were taken


def _spy(function, seen: list):
    def spied(batches, *args, **kwargs):
        def noted():
            for batch in batches:
                seen.append(batch)
                yield batch

        return function(noted(), *args, **kwargs)

    return spied


def test_the_reading_thread_takes_all_that_has_arrived(monkeypatch):
    """Lines written before the reader looks are taken in one list, however many reads."""
    monkeypatch.setattr(io_lines, "CHUNK_BYTES", 64)
    read, write = os.pipe()
    with open(write, "wb") as sink:
        sink.write(b"".join(b'{"n": %d}\n' % i for i in range(200)))
    with open(read, "rb") as pipe:
        chunks = io_lines.line_chunks(pipe, greedy=True)
        first = next(chunks)  # the reading thread runs from here
        time.sleep(0.5)  # ... and reads the rest of the pipe (32 reads of 64 bytes) meanwhile
        rest = list(chunks)
    assert len(first) + sum(len(chunk) for chunk in rest) == 200 and len(rest) <= 2


def test_the_reading_thread_never_holds_the_buffered_stream_s_lock():
    """While the reading thread waits on an open, empty pipe, the buffered stream over it can
    be closed at once: the thread reads the unbuffered stream under it. (A buffered read holds
    the stream's lock while it waits, and an interpreter that exits meanwhile (SIGTERM, the pipe
    still open) can abort when it cannot take that lock to close stdin.)"""
    read, write = os.pipe()
    pipe = open(read, "rb")  # (closed below, from another thread)
    closing = threading.Thread(target=pipe.close, daemon=True)
    try:
        chunks = io_lines.line_chunks(pipe, greedy=True)
        os.write(write, b'{"n": 1}\n')
        assert next(chunks) == [b'{"n": 1}']  # the thread now waits on the empty pipe
        time.sleep(0.1)
        closing.start()
        closing.join(2.0)
        assert not closing.is_alive(), "closing the stream waited for the pipe"
    finally:
        os.close(write)  # (the end of the pipe: the thread's read returns)
        if closing.ident is None:  # (never started: closed here)
            pipe.close()
        else:
            closing.join(2.0)


def test_a_backlog_waiting_on_the_pipe_is_told_from_a_lone_line(tmp_path):
    """`cat FILE |` leaves kilobytes waiting when the run starts: the column path's modules
    are loaded then, before the run's clock; a lone line, or a file object that is no pipe,
    never loads them."""
    import io

    read, write = os.pipe()
    try:
        with os.fdopen(read, "rb", buffering=0) as stream:
            os.write(write, b'{"a": 1}\n')
            assert not piped.backlog_waiting(stream)
            os.write(write, b"x" * piped.BACKLOG_BYTES)
            assert piped.backlog_waiting(stream)
    finally:
        os.close(write)
    assert not piped.backlog_waiting(io.BytesIO(b"x" * 2 * piped.BACKLOG_BYTES))
