"""`fraud replay --state`: the run continues from the state and writes it back; what it decided
is there, so the same records replayed again are duplicates, rejected before the clock starts."""

from __future__ import annotations

import json

from fraudcli.config.load import load_config
from fraudcli.replay.options import ReplayOptions
from fraudcli.replay.run import replay_file
from fraudcli.state.directory import read_state
from fraudcli.state.keeper import StateOptions


def test_replay_writes_its_state_back(world, model_dir, tmp_path):
    lines = (world / "later.jsonl").read_text().splitlines()[:400]
    first, both = tmp_path / "first.jsonl", tmp_path / "both.jsonl"
    first.write_text("\n".join(lines[:300]) + "\n")
    both.write_text("\n".join(lines) + "\n")
    state = StateOptions(tmp_path / "s")
    options = ReplayOptions(max_rate=True)
    one = replay_file(first, options, config=load_config(), model_dir=model_dir, state=state)
    assert one.decided == 300
    saved = read_state(tmp_path / "s")
    assert saved.manifest["checkpoint"] == {"reason": "end of run", "command": "replay",
                                            "records": 300}  # fmt: skip
    again = replay_file(both, options, config=load_config(), model_dir=model_dir, state=state)
    assert (again.read, again.rejected, again.decided) == (400, 300, 100)
    assert again.reject_reasons == {
        f"duplicate transaction_id {json.loads(line)['transaction_id']!r}": 1
        for line in lines[:300]
    }
    ids = set(read_state(tmp_path / "s").tables["transactions"]["transaction_id"].to_pylist())
    assert {json.loads(line)["transaction_id"] for line in lines} <= ids
