"""The column path (`fraudcli.scoring.blocks`) gives the record path's output, row for row, and
its rejects: through `fraud score` (JSONL, Parquet, CSV, stdin from a file or a pipe) and
`fraud evaluate`."""

from __future__ import annotations

import csv
import json
import os
import sys
import threading
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fraudcli.commands.score import score_file
from fraudcli.config.load import load_config
from fraudcli.errors import StrictRejectError
from fraudcli.features.spec import FEATURE_NAMES
from fraudcli.io import blocks as input_blocks
from fraudcli.io import jsonl_blocks as jsonl_columns
from fraudcli.io import lines as io_lines
from fraudcli.io.blocks import column_blocks
from fraudcli.records.accounting import RunSummary
from fraudcli.records.rejects import RejectSink
from fraudcli.scoring import decided as decided_module
from fraudcli.scoring.blocks import ColumnScorer
from fraudcli.scoring.decided import decided
from fraudcli.scoring.load import open_bundle

# Rules and block lists that fire often, so the rows decided one by one are many and varied.
BUSY_RULES = """
[thresholds]
review = 0.002
block = 0.5

[policy]
review_cost = 0.5
block_cost = 25.0

[blocklists]
countries = ["FR"]
devices = ["dev-00042"]

[[rules]]
name = "big"
when = "amount > 300 and not (channel == 'pos')"
action = "REVIEW"

[[rules]]
name = "far"
when = "lat > 45 or lon < -100 or merchant_category in ['digital_goods', 'travel']"
action = "BLOCK"
"""


def record_path(source, model_dir, config, tmp_path, **options):
    """The definition: every record through `Pipeline.decide`."""
    opened = open_bundle(config, model_dir, fresh_state=options.get("fresh", False))
    rows: list[dict] = []
    summary, sink = RunSummary(), RejectSink(tmp_path / "want-rejects.jsonl")
    features = options.get("features", False)
    for batch in decided(source, opened, sink, summary, with_features=features, record_path=True):
        rows.extend(batch.rows.values())
    sink.close()
    return rows, summary, _rejects(tmp_path / "want-rejects.jsonl")


def column_path(source, model_dir, config, tmp_path, suffix=".jsonl", **options):
    out = tmp_path / f"got{suffix}"
    summary = score_file(
        source,
        out,
        config=config,
        model_dir=model_dir,
        rejects_path=tmp_path / "got-rejects.jsonl",
        fresh_state=options.get("fresh", False),
        with_features=options.get("features", False),
    )
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    else:
        rows = pq.read_table(out).to_pylist()
    return rows, summary, _rejects(tmp_path / "got-rejects.jsonl")


def _rejects(path) -> list[tuple[int, str, str]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [(r["line"], r["reason"], r["raw"]) for r in map(json.loads, lines)]


def assert_same(got, want):
    (got_rows, got_summary, got_rejects), (want_rows, want_summary, want_rejects) = got, want
    assert len(got_rows) == len(want_rows)
    for g, w in zip(got_rows, want_rows, strict=True):
        assert list(g) == list(w)  # same keys in the same order
        names = [k for k in FEATURE_NAMES if k in g and k != "amount"]
        assert [g[k] for k in names] == pytest.approx([w[k] for k in names], rel=1e-9, abs=1e-9)
        # everything else exactly (window sums may differ in their last bits)
        assert {k: v for k, v in g.items() if k not in names} == {
            k: v for k, v in w.items() if k not in names
        }
    assert got_rejects == want_rejects
    assert got_summary.to_dict() | {"seconds": 0} == want_summary.to_dict() | {"seconds": 0}


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Many blocks, so the state is carried from block to block."""
    monkeypatch.setattr(input_blocks, "BLOCK_ROWS", 700)
    monkeypatch.setattr(jsonl_columns, "READ_BYTES", 150_000)
    monkeypatch.setattr(input_blocks, "PARQUET_ROWS", 700)


@pytest.fixture
def columns_only(monkeypatch):
    """Fail if the column path gives up on a block (so the test checks the column path)."""

    def refuse(*args):
        raise AssertionError("a block went record by record")

    monkeypatch.setattr(ColumnScorer, "_record_by_record", refuse)


@pytest.fixture(scope="module")
def messy(world, tmp_path_factory):
    """The later sample with every kind of bad line, a duplicate, extras and a rule-firing mix."""
    lines = (world / "later.jsonl").read_text().splitlines()
    now = json.loads(lines[49])["timestamp"]  # the inserted records keep time in order

    def at(i: int, **fields) -> str:
        return json.dumps(json.loads(lines[i]) | {"timestamp": now} | fields)

    first = json.loads(lines[0])
    bad = [
        "{not json",
        "",
        "[1, 2]",
        json.dumps({**first, "amount": "12"}),  # a duplicate id as well as a bad amount
        at(7, transaction_id="dup-src"),
        at(8, transaction_id="dup-src"),
        at(5, transaction_id="extra-1", note="vip", score=3),
        at(9, transaction_id="int-lat", lat=10, lon=20),
    ]
    mixed = lines[:50] + bad + lines[50:]
    path = tmp_path_factory.mktemp("messy") / "messy.jsonl"
    path.write_text("\n".join(mixed) + "\n")
    return path


@pytest.fixture(scope="module")
def busy_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "fraud.toml"
    path.write_text(BUSY_RULES)
    return load_config(path)


@pytest.mark.parametrize("features", [False, True])
def test_jsonl_file_equals_the_record_path(messy, model_dir, tmp_path, features, columns_only):
    config = load_config()
    want = record_path(messy, model_dir, config, tmp_path, features=features)
    got = column_path(messy, model_dir, config, tmp_path, features=features)
    assert want[1].rejected == 5 and want[1].written > 2900
    assert_same(got, want)


def test_busy_rules_and_a_fresh_state(messy, model_dir, busy_config, tmp_path, columns_only):
    want = record_path(messy, model_dir, busy_config, tmp_path, fresh=True)
    got = column_path(messy, model_dir, busy_config, tmp_path, fresh=True)
    decided = want[1].decisions
    assert decided["REVIEW"] > 300 and decided["BLOCK"] > 300  # the rules do fire
    reasons = Counter(reason for row in want[0] for reason in row["reasons"])
    for reason in ("score>=review", "expected_loss>review_cost", "expected_loss>block_cost"):
        assert reasons[reason] > 20, reason  # so does the expected-loss policy
    assert_same(got, want)


def test_parquet_with_bad_rows_and_extra_columns(
    world, model_dir, busy_config, tmp_path, columns_only
):
    table = pq.read_table(world / "train.parquet").slice(30_000, 4_000)
    amount = table["amount"].to_pylist()
    amount[100], amount[2000] = -5.0, None
    table = table.set_column(table.column_names.index("amount"), "amount", pa.array(amount))
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=1000)
    want = record_path(source, model_dir, busy_config, tmp_path, fresh=True)
    for suffix in (".jsonl", ".parquet"):
        got = column_path(source, model_dir, busy_config, tmp_path, suffix=suffix, fresh=True)
        assert_same(got, want)
    assert "fraud_pattern" in want[0][0]  # the input's own column is carried through


@pytest.fixture
def repeated_ids(world, tmp_path):
    """Parquet of 6 blocks whose transaction_ids repeat within a block and across blocks."""
    table = pq.read_table(world / "train.parquet").slice(30_000, 4_000)
    ids = table["transaction_id"].to_pylist()
    ids[1500] = ids[10]  # a later block repeats an earlier one
    ids[2000] = ids[2001] = ids[1999]  # twice more in its own block
    ids[3900] = ids[2000]  # and once more much later
    table = table.set_column(0, "transaction_id", pa.array(ids))
    source = tmp_path / "repeated.parquet"
    pq.write_table(table, source)
    return source


def test_parquet_ids_repeated_within_and_across_blocks(
    repeated_ids, model_dir, tmp_path, columns_only
):
    config = load_config()
    want = record_path(repeated_ids, model_dir, config, tmp_path, fresh=True)
    got = column_path(repeated_ids, model_dir, config, tmp_path, suffix=".parquet", fresh=True)
    assert want[1].rejected == 4
    assert_same(got, want)


def test_strict_stops_at_the_first_repeat_with_earlier_blocks_written(
    repeated_ids, model_dir, tmp_path, capsys
):
    """Blocks are prepared ahead of the one written: the stop still comes at line 1501. On
    stdout the 1400 rows of the blocks before it were written and nothing after; a file is
    left as it was, the run having failed."""
    options = {"config": load_config(), "model_dir": model_dir, "fresh_state": True}
    with pytest.raises(StrictRejectError, match="line 1501: duplicate transaction_id"):
        score_file(repeated_ids, None, strict=True, **options)
    assert len(capsys.readouterr().out.splitlines()) == 1400
    out = tmp_path / "strict.parquet"
    out.write_bytes(b"before")
    with pytest.raises(StrictRejectError, match="line 1501: duplicate transaction_id"):
        score_file(repeated_ids, out, strict=True, **options)
    assert out.read_bytes() == b"before" and not list(tmp_path.glob(".*"))  # no leftovers


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_jsonl_keys_outside_the_schema_on_most_lines(messy, model_dir, tmp_path, suffix):
    """Carried as columns where a line has them all in order; every other line keeps exactly
    its own keys (none, another order, a float, a null)."""
    lines = messy.read_text().splitlines()
    noted = []
    for i, line in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if i % 7 == 3 or not isinstance(record, dict):
            noted.append(line)  # no extra key here; bad lines stay bad
            continue
        extra = {"note": [None, "vip", "x"][i % 3], "tier": i % 4}
        if i % 11 == 5:  # another order; in JSONL another type too (Arrow refuses it)
            extra = {"tier": "2.5" if suffix == ".jsonl" else 7, "note": "late"}
        noted.append(json.dumps(record | extra))
    source = tmp_path / "noted.jsonl"
    source.write_text("\n".join(noted) + "\n")
    blocks = list(column_blocks(source, load_config().columns))
    assert [list(b.passthrough) for b in blocks] == [["note", "tier"]] * len(blocks)
    config = load_config()
    want = record_path(source, model_dir, config, tmp_path)
    got = column_path(source, model_dir, config, tmp_path, suffix=suffix)
    if suffix == ".parquet":  # a Parquet file has every column on every row: the values
        assert {"note", "tier"} <= set(got[0][0])
        pairs = zip(got[0], want[0], strict=True)
        want = ([{k: w.get(k) for k in g} for g, w in pairs], *want[1:])
    assert_same(got, want)


def test_out_of_order_input_goes_on_record_by_record(world, model_dir, tmp_path):
    lines = (world / "later.jsonl").read_text().splitlines()
    lines[1500], lines[10] = lines[10], lines[1500]  # a late record, then an early one
    source = tmp_path / "shuffled.jsonl"
    source.write_text("\n".join(lines) + "\n")
    config = load_config()
    assert_same(
        column_path(source, model_dir, config, tmp_path),
        record_path(source, model_dir, config, tmp_path),
    )


def test_stdin_from_a_file_takes_the_column_path_and_a_pipe_does_not(messy, monkeypatch):
    with open(messy, "rb") as stream:
        monkeypatch.setattr(sys, "stdin", stream)
        assert column_blocks(None, load_config().columns) is not None
    monkeypatch.setattr(sys, "stdin", sys.__stdin__)
    read, write = __import__("os").pipe()
    with open(read, "rb") as pipe, open(write, "wb"):
        monkeypatch.setattr(sys, "stdin", pipe)
        assert column_blocks(None, load_config().columns) is None


def test_a_pipe_writes_the_same_parquet_as_a_file_with_keys_typed_late(
    world, model_dir, tmp_path, monkeypatch
):
    """Piped records are written in small batches: a key null in the first ones, a key first
    seen in a later one, still get the column path's columns and types."""
    records = []
    for i, line in enumerate((world / "later.jsonl").read_text().splitlines()[:3000]):
        record = json.loads(line) | {"note": None if i < 1500 else f"n{i}"}
        records.append(json.dumps(record | ({"late": i} if i >= 2000 else {})))
    source = tmp_path / "late.jsonl"
    source.write_bytes("\n".join(records).encode() + b"\n")
    config, options = load_config(), {"config": load_config(), "model_dir": model_dir}
    score_file(source, tmp_path / "file.parquet", **options)
    monkeypatch.setattr(io_lines, "CHUNK_BYTES", 20_000)  # some 40 batches
    read, write = os.pipe()

    def feed():
        with open(write, "wb") as sink:
            sink.write(source.read_bytes())

    feeder = threading.Thread(target=feed)
    feeder.start()
    with open(read, encoding="utf-8") as pipe:
        monkeypatch.setattr(sys, "stdin", pipe)
        assert column_blocks(None, config.columns) is None  # a pipe: record by record
        score_file(None, tmp_path / "pipe.parquet", **options)
    feeder.join()
    got, want = (pq.read_table(tmp_path / name) for name in ("pipe.parquet", "file.parquet"))
    assert want.schema.field("note").type == pa.string()
    assert want.schema.field("late").type == pa.int64()
    assert got.equals(want)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_evaluate_on_a_file_gives_the_record_paths_metrics(
    world, model_dir, tmp_path, monkeypatch, suffix
):
    """Blocks of the column path (unlabelled rows, a reject, a duplicate among them; in
    Parquet, timestamps as ISO text) give the metrics and counts of record by record."""
    from fraudcli.commands import evaluate

    records = [json.loads(line) for line in (world / "later.jsonl").read_text().splitlines()]
    for record in records[5::9]:
        record.pop("is_fraud")
    records[100]["amount"] = -1.0
    records.insert(2000, dict(records[7]))
    source = tmp_path / f"labelled{suffix}"
    if suffix == ".jsonl":
        source.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        pq.write_table(pa.Table.from_pylist(records), source)
    options = {"config": load_config(), "model_dir": model_dir}
    got = evaluate.evaluate_file(source, **options).to_dict()
    monkeypatch.setattr(decided_module, "column_blocks", lambda *args, **kwargs: None)
    want = evaluate.evaluate_file(source, **options).to_dict()
    unlabelled = sum("is_fraud" not in r for i, r in enumerate(records) if i not in (100, 2000))
    assert want["run"]["rejected"] == 2 and want["unlabelled"] == unlabelled
    got["run"]["seconds"] = want["run"]["seconds"] = 0
    assert_close(got, want)


def assert_close(got, want) -> None:
    """Equal, but floats only to 1e-12: the column path's scores agree with the record
    path's to about 1e-15 (NumPy's exp against math.exp), and so do means and Brier scores."""
    if isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            assert_close(got[key], want[key])
    elif isinstance(want, list):
        assert len(got) == len(want)
        for ours, theirs in zip(got, want, strict=True):
            assert_close(ours, theirs)
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-300)
    else:
        assert got == want


@pytest.mark.parametrize("form", ["iso text", "epoch seconds", "epoch milliseconds"])
def test_parquet_timestamps_as_text_or_numbers(world, model_dir, tmp_path, form, columns_only):
    """A Parquet file need not hold a timestamp type: text and epoch numbers are read as
    `validate` reads them, on the column path, with odd values rejected alike."""
    table = pq.read_table(world / "train.parquet").slice(30_000, 3_000)
    seconds = pc.divide(table["timestamp"].cast(pa.int64()), 1000).to_numpy().astype(float)
    values = {
        "iso text": pa.array([f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in table["timestamp"].to_pylist()]),
        "epoch seconds": pa.array(seconds),
        "epoch milliseconds": pa.array((seconds * 1000).astype(np.int64)),
    }[form].to_pylist()
    values[7] = "1999-01-01T00:00:00Z" if form == "iso text" else 5.0  # out of range
    stamps = pa.array(values)
    source = tmp_path / "stamps.parquet"
    pq.write_table(table.set_column(1, "timestamp", stamps), source)
    config = load_config()
    want = record_path(source, model_dir, config, tmp_path, fresh=True)
    assert want[1].rejected == 1
    got = column_path(source, model_dir, config, tmp_path, suffix=".parquet", fresh=True)
    assert_same(got, want)


@pytest.mark.parametrize(
    "content",
    [b"\n\n\n", b'[{"transaction_id": "t"}]\n', '{"user_id": "\xe9"}\n'.encode("latin-1")],
    ids=["blank lines", "a JSON array", "not UTF-8"],
)
def test_a_jsonl_file_of_nothing_but_rejects(model_dir, tmp_path, content):
    source = tmp_path / "rejects.jsonl"
    source.write_bytes(content)
    config = load_config()
    want = record_path(source, model_dir, config, tmp_path)
    assert want[1].written == 0 and want[1].rejected == want[1].read > 0
    assert_same(column_path(source, model_dir, config, tmp_path), want)


def test_jsonl_with_a_byte_order_mark(world, model_dir, tmp_path, columns_only):
    source = tmp_path / "marked.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + (world / "later.jsonl").read_bytes())
    config = load_config()
    want = record_path(source, model_dir, config, tmp_path)
    assert want[1].rejected == 0
    assert_same(column_path(source, model_dir, config, tmp_path), want)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_csv_with_bad_rows(world, model_dir, tmp_path, monkeypatch, columns_only, suffix):
    """CSV read by `io.csv_blocks` (its column outside the schema, empty on most rows, carried
    as a column) gives the record path's output."""
    monkeypatch.setattr(input_blocks, "BLOCK_ROWS", 700)
    records = [json.loads(line) for line in (world / "later.jsonl").read_text().splitlines()]
    records[5]["amount"], records[9]["timestamp"] = "lots", "yesterday"
    records.insert(1200, records[3])  # a duplicate
    keys = list(dict.fromkeys(k for r in records for k in r))
    source = tmp_path / "messy.csv"
    with open(source, "w", newline="") as out:
        writer = csv.DictWriter(out, keys)
        writer.writeheader()
        writer.writerows(records)
    config = load_config()
    want = record_path(source, model_dir, config, tmp_path)
    assert want[1].rejected == 3
    got = column_path(source, model_dir, config, tmp_path, suffix=suffix)
    if suffix == ".parquet":
        assert "fraud_pattern" in got[0][0]
    assert_same(got, want)


# --- the files other tools write, and late records: the column path, the record path's output ---


def _later(world) -> list[dict]:
    return [json.loads(line) for line in (world / "later.jsonl").read_text().splitlines()]


def _epoch_ms(record: dict) -> int:
    from datetime import datetime

    return round(datetime.fromisoformat(record["timestamp"]).timestamp() * 1000)


def _pandas(records: list[dict], path) -> None:
    import pandas as pd

    frame = pd.DataFrame(records)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame.to_json(path, orient="records", lines=True, date_format="iso")


def _spark(records: list[dict], path) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    with open(path, "w") as out:
        for i, record in enumerate(records):
            moment = datetime.fromtimestamp(_epoch_ms(record) / 1000 + i % 1000 / 1000, UTC)
            local = moment.astimezone(timezone(timedelta(hours=1)))
            record["timestamp"] = local.isoformat(timespec="milliseconds")
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def _kafka(records: list[dict], path) -> None:
    keys = list(dict.fromkeys(k for r in records for k in r))
    with open(path, "w") as out:
        for record in records:
            record = {k: record.get(k) for k in keys} | {"timestamp": _epoch_ms(record)}
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def _quoted_csv(records: list[dict], path) -> None:
    keys = list(dict.fromkeys(k for r in records for k in r))
    names = {"user_id": "CUSTOMER_ID", "amount": "TX_AMOUNT", "timestamp": "TX_DATETIME"}
    with open(path, "w", newline="") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow([names.get(k, k) for k in keys])
        for record in records:
            record["timestamp"] = record["timestamp"].replace("T", " ").replace("Z", "+00:00")
            writer.writerow(["" if record.get(k) is None else record[k] for k in keys])


def _stragglers(records: list[dict], path) -> None:
    for i in range(40, len(records) - 40, 37):  # one in 37 arrives 30 records late
        records.insert(i + 30, records.pop(i))
    with open(path, "w") as out:
        out.writelines(json.dumps(record) + "\n" for record in records)


WRITERS = {
    "pandas.jsonl": (_pandas, None),
    "spark.jsonl": (_spark, None),
    "kafka.jsonl": (_kafka, None),
    "quoted.csv": (
        _quoted_csv,
        ["user_id=CUSTOMER_ID", "amount=TX_AMOUNT", "timestamp=TX_DATETIME"],
    ),
    "stragglers.jsonl": (_stragglers, None),
}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
@pytest.mark.parametrize("name", list(WRITERS))
def test_files_other_tools_write_stay_on_the_column_path(
    world, model_dir, tmp_path, columns_only, name, suffix
):
    """pandas' to_json, Spark's JSON ('.000+01:00', a key on the fraud lines only), Kafka
    Connect's epoch milliseconds with nulls, a quoted CSV read with --map, and records late by
    less than the store's lateness: every block on the column path, the record path's output."""
    write, mapping = WRITERS[name]
    source = tmp_path / name
    write(_later(world), source)
    config = load_config(None, mapping)
    want = record_path(source, model_dir, config, tmp_path)
    assert want[1].rejected == 0
    got = column_path(source, model_dir, config, tmp_path, suffix=suffix)
    if suffix == ".parquet":  # every column on every row: a key a record lacks is null there
        pairs = zip(got[0], want[0], strict=True)
        want = ([{k: w.get(k) for k in g} for g, w in pairs], *want[1:])
    assert_same(got, want)
