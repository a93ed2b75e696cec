"""Rejects are counted by reason and written as JSONL."""

from __future__ import annotations

import json

from fraudcli.records.rejects import Reject, RejectSink


def test_reject_sink_writes_jsonl(tmp_path):
    sink = RejectSink(tmp_path / "rejects.jsonl")
    sink.add(Reject(3, "empty line", ""))
    sink.add(Reject(7, "malformed JSON: x", "{"))
    sink.close()
    rows = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert rows[1] == {"line": 7, "reason": "malformed JSON: x", "raw": "{"}
    assert sink.count == 2 and sink.reasons == {"empty line": 1, "malformed JSON": 1}
