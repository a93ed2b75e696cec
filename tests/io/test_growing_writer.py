"""Parquet and CSV output whose columns grow: every key of every row ends up in the file."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fraudcli.io.growing_writer import GrowingWriter, common_type, grown


def written(tmp_path, fmt: str, batches: list[list[dict]]) -> tuple[list[dict], pa.Schema]:
    path = tmp_path / f"out.{fmt}"
    writer = GrowingWriter(path, fmt)
    for rows in batches:
        writer.write(rows)
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no part left behind
    if fmt == "parquet":
        table = pq.read_table(path)
    else:
        options = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)
        table = pacsv.read_csv(path, convert_options=options)
    return table.to_pylist(), table.schema


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_key_first_seen_in_a_later_batch_is_a_column(tmp_path, fmt):
    rows, schema = written(
        tmp_path, fmt, [[{"id": "a", "x": 1}], [{"id": "b", "x": 2, "late": "z"}]]
    )
    assert schema.names == ["id", "x", "late"]
    assert rows == [{"id": "a", "x": 1, "late": None}, {"id": "b", "x": 2, "late": "z"}]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_key_null_in_the_first_batch_takes_the_type_of_later_values(tmp_path, fmt):
    batches = [[{"id": "a", "note": None}], [{"id": "b", "note": "hi"}], [{"id": "c"}]]
    rows, schema = written(tmp_path, fmt, batches)
    assert schema.field("note").type == pa.string()
    assert [r["note"] for r in rows] == [None, "hi", None]


def test_integers_then_floats_are_floats(tmp_path):
    rows, schema = written(tmp_path, "parquet", [[{"v": 1}], [{"v": 2.5}]])
    assert schema.field("v").type == pa.float64() and [r["v"] for r in rows] == [1.0, 2.5]


def test_values_of_no_common_type_are_text(tmp_path):
    batches = [[{"v": 1}], [{"v": "x"}], [{"v": True}, {"v": [1, 2]}]]
    rows, schema = written(tmp_path, "parquet", batches)
    assert schema.field("v").type == pa.string()
    assert [r["v"] for r in rows] == ["1", "x", "true", "[1,2]"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_mixed_types_within_one_batch_are_text(tmp_path, fmt):
    batch = [{"id": "a", "v": 1}, {"id": "b", "v": "x"}, {"id": "c", "v": None}]
    rows, _ = written(tmp_path, fmt, [batch])
    assert [r["v"] for r in rows] == ["1", "x", None]


def test_csv_rows_with_line_breaks_and_quotes_survive_a_merge(tmp_path):
    first = [{"id": "a", "text": 'two\nlines, "quoted"'}, {"id": "b", "text": "\n"}]
    rows, schema = written(tmp_path, "csv", [first, [{"id": "c", "text": "t", "more": 7}]])
    assert schema.names == ["id", "text", "more"]
    assert rows == [
        {"id": "a", "text": 'two\nlines, "quoted"', "more": None},
        {"id": "b", "text": "\n", "more": None},
        {"id": "c", "text": "t", "more": 7},
    ]


def test_csv_lists_of_strings_are_joined_and_other_nested_values_are_json(tmp_path):
    batch = [
        {"reasons": ["rule:a", "model:b"], "tags": [1, 2], "meta": {"k": "v"}},
        {"reasons": [], "tags": None, "meta": None},
    ]
    rows, _ = written(tmp_path, "csv", [batch])
    assert rows[0] == {"reasons": "rule:a; model:b", "tags": "[1,2]", "meta": '{"k":"v"}'}
    assert rows[1] == {"reasons": "", "tags": None, "meta": None}


def test_an_empty_batch_of_reasons_joins_the_typed_ones(tmp_path):
    rows, schema = written(tmp_path, "parquet", [[{"reasons": []}], [{"reasons": ["r"]}]])
    assert schema.field("reasons").type == pa.list_(pa.string())
    assert rows == [{"reasons": []}, {"reasons": ["r"]}]


def test_write_arrow_rows_own_keys_grow_the_columns_across_batches(tmp_path):
    path = tmp_path / "out.parquet"
    writer = GrowingWriter(path, "parquet")
    writer.write_arrow(pa.table({"transaction_id": ["a", "b"]}), {})
    writer.write_arrow(
        pa.table({"transaction_id": ["c", "d"]}), {1: {"transaction_id": "d", "k": 5}}
    )
    writer.close()
    assert pq.read_table(path).to_pylist() == [
        {"transaction_id": "a", "k": None},
        {"transaction_id": "b", "k": None},
        {"transaction_id": "c", "k": None},
        {"transaction_id": "d", "k": 5},
    ]


def test_grown_keeps_the_schema_object_when_nothing_changes():
    schema = pa.schema([("a", pa.int64()), ("b", pa.string())])
    assert grown(schema, pa.schema([("b", pa.null()), ("a", pa.int64())])) is schema
    wider = grown(schema, pa.schema([("a", pa.float64()), ("c", pa.bool_())]))
    assert wider == pa.schema([("a", pa.float64()), ("b", pa.string()), ("c", pa.bool_())])


@pytest.mark.parametrize(
    ("a", "b", "common"),
    [
        (pa.null(), pa.int64(), pa.int64()),
        (pa.int64(), pa.float64(), pa.float64()),
        (pa.int64(), pa.string(), pa.string()),
        (pa.bool_(), pa.float64(), pa.string()),
        (pa.list_(pa.null()), pa.list_(pa.string()), pa.list_(pa.string())),
        (pa.list_(pa.int64()), pa.string(), pa.string()),
    ],
)
def test_common_type(a, b, common):
    assert common_type(a, b) == common and common_type(b, a) == common
