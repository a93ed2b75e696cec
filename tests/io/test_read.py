"""Reading any format: format detection, row counts, a byte order mark."""

from __future__ import annotations

import json

import pytest

from fraudcli.io.formats import detect_format
from fraudcli.io.read import read_batches
from fraudcli.records.schema import Txn


def test_unknown_extension_is_a_usage_error():
    from fraudcli.errors import UsageError

    with pytest.raises(UsageError, match="cannot tell the format"):
        detect_format("data.xlsx")
    assert detect_format("-") == detect_format(None) == "jsonl"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_byte_order_mark_at_the_start_is_left_out(tmp_path, suffix):
    rows = [{"transaction_id": f"t{i}", "timestamp": 1767225600 + i, "user_id": "u", "amount": 2}
            for i in range(3)]  # fmt: skip
    if suffix == ".jsonl":
        text = "".join(json.dumps(r) + "\n" for r in rows)
    else:
        text = "transaction_id,timestamp,user_id,amount\n"
        text += "".join(f"{r['transaction_id']},{r['timestamp']},u,2\n" for r in rows)
    plain, marked = tmp_path / f"plain{suffix}", tmp_path / f"marked{suffix}"
    plain.write_text(text)
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode())
    got = [item for batch in read_batches(marked) for item in batch]
    assert got == [item for batch in read_batches(plain) for item in batch]
    assert all(isinstance(item, Txn) for _, _, item in got) and len(got) == 3
