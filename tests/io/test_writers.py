"""Writers: round trips by extension, JSONL on stdout."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fraudcli.io.writers import open_writer, write_table


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_writers_round_trip(tmp_path, suffix):
    rows = [
        {"transaction_id": f"t{i}", "amount": float(i), "reasons": ["a", "b"]} for i in range(5)
    ]
    path = tmp_path / f"out{suffix}"
    writer = open_writer(path)
    writer.write(rows[:2])
    writer.write(rows[2:])
    writer.close()
    if suffix == ".jsonl":
        back = [json.loads(x) for x in path.read_text().splitlines()]
        assert back == rows
    elif suffix == ".parquet":
        assert pq.read_table(path).to_pylist() == rows
    else:
        text = path.read_text().splitlines()
        assert text[0] == '"transaction_id","amount","reasons"' and text[1] == '"t0",0,"a; b"'


def test_write_table_jsonl_to_stdout(capsys):
    table = pa.table({"a": [1, 2]})
    write_table(table, None)
    assert capsys.readouterr().out == '{"a":1}\n{"a":2}\n'
