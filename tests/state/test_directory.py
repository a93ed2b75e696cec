"""A state directory: written whole or not at all (kill -9 at random moments of the write
leaves the old state or the new one, loadable), read back verified, refused when wrong."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import ipc

from fraudcli.errors import StateError
from fraudcli.features.spec import DAY
from fraudcli.features.store import InMemoryStore, StoreConfig
from fraudcli.files import old_name
from fraudcli.records.schema import Txn
from fraudcli.state.directory import is_state, read_state, write_state
from fraudcli.state.signing import sign_manifest

CONFIG = StoreConfig()
CHECKPOINT = {"reason": "test", "command": "test", "records": 0}


def store_of(n: int, seed: int) -> InMemoryStore:
    """A store that saw `n` random transactions (seeded)."""
    rng = np.random.default_rng(seed)
    store = InMemoryStore(CONFIG)
    ts = 1.77e9 + np.sort(rng.uniform(0, 30 * DAY, n))
    for i, t in enumerate(ts.tolist()):
        user, merchant = f"u{rng.integers(0, n // 20 + 1)}", f"m{rng.integers(0, 50)}"
        store.observe(Txn(f"s{seed}-{i}", t, user, float(rng.integers(1, 500)), merchant))
    return store


def assert_tables_equal(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name, table in want.items():
        assert got[name].equals(table), name


def test_written_then_read_back_equal(tmp_path):
    tables = store_of(2000, 1).snapshot()
    write_state(tmp_path / "s", tables, CONFIG, CHECKPOINT)
    state = read_state(tmp_path / "s", CONFIG)
    assert_tables_equal(state.tables, tables)
    assert state.manifest["counts"]["transactions"] == 2000
    assert state.manifest["checkpoint"] == CHECKPOINT
    restored = InMemoryStore.restore(state.tables, CONFIG)
    assert restored.snapshot()["user_entries"].equals(tables["user_entries"])


def test_refused_for_other_settings_or_when_damaged(tmp_path):
    path = tmp_path / "s"
    write_state(path, store_of(300, 2).snapshot(), CONFIG, CHECKPOINT)
    with pytest.raises(StateError, match="other store settings"):
        read_state(path, StoreConfig(label_delay=3 * DAY))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["feature_names"] = manifest["feature_names"][:-1]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StateError, match="seal"):
        read_state(path, CONFIG)
    write_state(path, store_of(300, 2).snapshot(), CONFIG, CHECKPOINT)
    (path / "transactions.arrow").unlink()
    with pytest.raises(StateError, match="missing transactions.arrow"):
        read_state(path, CONFIG)
    (tmp_path / "not-a-state").mkdir()
    (tmp_path / "not-a-state" / "notes.txt").write_text("mine")
    with pytest.raises(StateError, match="not a fraud state"):
        write_state(tmp_path / "not-a-state", store_of(10, 3).snapshot(), CONFIG, CHECKPOINT)
    assert (tmp_path / "not-a-state" / "notes.txt").read_text() == "mine"


def _rewritten(path: Path, name: str, data: bytes, **changes) -> None:
    """`name` replaced by `data` and the manifest told so (its checksum and seal redone, as
    whoever edits a state without a key can do), with `changes` to the manifest."""
    manifest = json.loads((path / "manifest.json").read_text())
    (path / name).write_bytes(data)
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    manifest = sign_manifest({**manifest, **changes})
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_a_version_1_state_of_parquet_tables_is_read_and_written_back_as_version_2(tmp_path):
    """States written before the tables were Arrow IPC files (schema version 1: Parquet) are
    read as they are; the next write makes them version 2."""
    path = tmp_path / "s"
    tables = store_of(500, 7).snapshot()
    write_state(path, tables, CONFIG, CHECKPOINT)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"] = {}
    for name, table in read_state(path, CONFIG).tables.items():
        pq.write_table(table, path / f"{name}.parquet", compression="zstd")
        (path / f"{name}.arrow").unlink()
        data = (path / f"{name}.parquet").read_bytes()
        manifest["files"][f"{name}.parquet"] = hashlib.sha256(data).hexdigest()
    manifest["schema_version"] = 1
    (path / "manifest.json").write_text(json.dumps(sign_manifest(manifest)))
    assert_tables_equal(read_state(path, CONFIG).tables, tables)
    write_state(path, read_state(path, CONFIG).tables, CONFIG, CHECKPOINT)
    assert json.loads((path / "manifest.json").read_text())["schema_version"] == 2
    assert sorted(p.suffix for p in path.iterdir()) == [".arrow"] * 5 + [".json"]
    assert_tables_equal(read_state(path, CONFIG).tables, tables)


def test_a_table_that_is_not_arrow_or_lies_about_its_buffers_is_refused(tmp_path):
    """A table whose checksum was redone after an edit is still refused unless it is a whole
    Arrow IPC file: one whose offsets run backwards would make a reader read outside its
    buffers, so each buffer is validated before use."""
    path = tmp_path / "s"
    tables = store_of(300, 8).snapshot()
    write_state(path, tables, CONFIG, CHECKPOINT)
    _rewritten(path, "user_last.arrow", b"ARROW1 not really")
    with pytest.raises(StateError, match="user_last.arrow is not readable an Arrow IPC file"):
        read_state(path, CONFIG)
    write_state(path, tables, CONFIG, CHECKPOINT)
    users = tables["user_last"]["user_id"].combine_chunks()
    offsets = np.frombuffer(users.buffers()[1], dtype=np.int32).copy()
    offsets[1], offsets[2] = offsets[2], offsets[1] - 1  # (backwards)
    offsets = pa.py_buffer(offsets.tobytes())
    bad = pa.StringArray.from_buffers(len(users), offsets, users.buffers()[2])
    table = tables["user_last"].set_column(0, "user_id", bad)
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema) as out:
        out.write_table(table)
    _rewritten(path, "user_last.arrow", sink.getvalue().to_pybytes())
    with pytest.raises(StateError, match="user_last.arrow is not readable"):
        read_state(path, CONFIG)


def test_an_unknown_schema_version_or_files_outside_the_state_are_refused(tmp_path):
    path = tmp_path / "s"
    write_state(path, store_of(100, 9).snapshot(), CONFIG, CHECKPOINT)
    data = (path / "user_last.arrow").read_bytes()
    _rewritten(path, "user_last.arrow", data, schema_version=3)
    with pytest.raises(StateError, match="schema version 3, this fraudcli reads 1 and 2"):
        read_state(path, CONFIG)
    _rewritten(path, "user_last.arrow", data, schema_version=1)  # (its files are .arrow)
    with pytest.raises(StateError, match="files are not its tables'"):
        read_state(path, CONFIG)


def test_a_crash_between_two_renames_leaves_the_old_state_put_back(tmp_path):
    """Where the system cannot exchange two directories, a commit is two renames: a process
    dying between them leaves the old state aside as `.old`, which the next reader puts back."""
    path = tmp_path / "s"
    tables = store_of(200, 4).snapshot()
    write_state(path, tables, CONFIG, CHECKPOINT)
    path.rename(old_name(path).with_name(f".s.fraud-{2**22 + 7}.old"))  # a dead writer's
    assert not path.exists() and is_state(path)
    assert_tables_equal(read_state(path, CONFIG).tables, tables)


WRITER = """
import sys
from fraudcli.features.store import StoreConfig
from fraudcli.state.directory import write_state
from tests.state.test_directory import store_of
tables = store_of(int(sys.argv[2]), int(sys.argv[3])).snapshot()
print("ready", flush=True)
sys.stdin.readline()
started = __import__("time").perf_counter()
write_state(sys.argv[1], tables, StoreConfig(), {"reason": "new", "command": "t", "records": 1})
print(__import__("time").perf_counter() - started, flush=True)
"""


def _writer(path: Path, n: int, seed: int) -> subprocess.Popen:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(n), str(seed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env=os.environ | {"PYTHONPATH": str(root)},
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def _finished(process: subprocess.Popen) -> None:
    process.wait()
    process.stdin.close()
    process.stdout.close()


def test_kill_9_at_random_moments_of_the_write_leaves_the_old_or_the_new_state(tmp_path):
    path, n = tmp_path / "s", 20_000
    old = store_of(300, 5).snapshot()
    new = store_of(n, 6).snapshot()
    write_state(path, old, CONFIG, CHECKPOINT)
    timing = _writer(tmp_path / "timing", n, 6)  # how long a whole write takes here
    timing.stdin.write("go\n")
    timing.stdin.flush()
    seconds = float(timing.stdout.readline())
    _finished(timing)
    rng = np.random.default_rng(15)
    seen = set()
    for delay in rng.uniform(0.0, 1.3 * seconds, size=6).tolist():
        write_state(path, old, CONFIG, CHECKPOINT)
        process = _writer(path, n, 6)
        process.stdin.write("go\n")
        process.stdin.flush()
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        _finished(process)
        state = read_state(path, CONFIG)  # loadable, whatever the moment
        which = "new" if state.manifest["checkpoint"]["reason"] == "new" else "old"
        assert_tables_equal(state.tables, new if which == "new" else old)
        seen.add(which)
    assert "old" in seen  # killed mid-write at least once (and the old state was whole)
    write_state(path, new, CONFIG, CHECKPOINT)  # a later write clears the dead ones' leftovers
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".s.fraud-")]


def test_with_a_signing_key_a_state_is_signed_and_checked(tmp_path):
    """A run with a key signs the states it writes and refuses one unsigned or signed with
    another key; without a key the seal's checksum is still checked."""
    from fraudcli.bundle.signing import SigningKey, Trust, trusting

    key, other = SigningKey(b"k" * 32, "test"), SigningKey(b"o" * 32, "test")
    tables = store_of(300, 4).snapshot()
    with trusting(Trust(key)):
        write_state(tmp_path / "signed", tables, CONFIG, CHECKPOINT)
        read_state(tmp_path / "signed", CONFIG)  # its own key: fine
    read_state(tmp_path / "signed", CONFIG)  # no key: the checksum only
    write_state(tmp_path / "plain", tables, CONFIG, CHECKPOINT)
    with trusting(Trust(key)), pytest.raises(StateError, match="is not signed"):
        read_state(tmp_path / "plain", CONFIG)
    with trusting(Trust(other)), pytest.raises(StateError, match="does not match the key"):
        read_state(tmp_path / "signed", CONFIG)
