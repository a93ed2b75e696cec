"""The same transactions written as other tools write them, for `bench_shapes`: the clean file
(`fraud simulate`'s JSONL), pandas' `to_json`, Spark's JSON writer, Kafka Connect's epoch
milliseconds, a CSV with its own column names and every cell quoted, and a daily file with a
few stragglers. Each is cached under .bench-cache/shapes/."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench.common import CACHE, big_table

ROWS = 300_000
FOLDER = CACHE / "shapes"
# the CSV's own column names, and the --map that reads them
CSV_NAMES = {"transaction_id": "TX_ID", "timestamp": "TX_DATETIME", "user_id": "CUSTOMER_ID",
             "amount": "TX_AMOUNT", "merchant_id": "TERMINAL_ID"}  # fmt: skip
CSV_MAP = [f"{field}={name}" for field, name in CSV_NAMES.items()]


def _table():
    import pyarrow.parquet as pq

    return pq.read_table(big_table()).slice(0, ROWS)


def _rows() -> list[dict]:
    """The rows with the timestamp as epoch milliseconds (an int)."""
    table = _table()
    ms = table["timestamp"].cast("int64").to_pylist()
    rows = table.to_pylist()
    for row, stamp in zip(rows, ms, strict=True):
        row["timestamp"] = stamp
    return rows


def _iso(ms: int, offset_hours: int = 0, fraction: bool = False, zone: str = "Z") -> str:
    from datetime import UTC, datetime, timedelta, timezone

    tz = timezone(timedelta(hours=offset_hours)) if offset_hours else UTC
    moment = datetime.fromtimestamp(ms / 1000, tz)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ms % 1000:03d}" if fraction else "")
    if offset_hours:
        return text + moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
    return text + zone


def _write_jsonl(path: Path, rows, stamp, keep_nulls: bool, compact: bool) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    with open(path, "w") as out:
        for row in rows:
            row = dict(row, timestamp=stamp(row["timestamp"]))
            if not keep_nulls:
                row = {k: v for k, v in row.items() if v is not None}
            out.write(json.dumps(row, separators=separators) + "\n")


def clean() -> Path:
    """As `fraud simulate` and the bench's big file: 'YYYY-MM-DDTHH:MM:SSZ', nulls left out."""
    return _cached("clean.jsonl", lambda p: _write_jsonl(p, _rows(), _iso, False, False))


def pandas_jsonl() -> Path:
    """`df.to_json(orient="records", lines=True, date_format="iso")`: '...29.000Z', every key
    on every line, null where missing (fraud_pattern on 1% of lines)."""

    def write(path: Path) -> None:
        _table().to_pandas().to_json(path, orient="records", lines=True, date_format="iso")

    return _cached("pandas.jsonl", write)


def spark_jsonl() -> Path:
    """Spark's JSON writer in a UTC+1 session: '...T00:55:29.000+01:00', nulls left out (so
    fraud_pattern is a key on 1% of lines)."""
    stamp = lambda ms: _iso(ms, offset_hours=1, fraction=True)  # noqa: E731
    return _cached("spark.jsonl", lambda p: _write_jsonl(p, _rows(), stamp, False, True))


def offsets_jsonl() -> Path:
    """Only the timestamps changed, to '...29+00:00' (Python's isoformat of an aware time)."""
    stamp = lambda ms: _iso(ms, zone="+00:00")  # noqa: E731
    return _cached("offsets.jsonl", lambda p: _write_jsonl(p, _rows(), stamp, False, False))


def epoch_jsonl() -> Path:
    """Kafka Connect's JSON: timestamps as epoch milliseconds (numbers), nulls written."""
    return _cached("epoch.jsonl", lambda p: _write_jsonl(p, _rows(), int, True, True))


def quoted_csv() -> Path:
    """A CSV with its own column names (read with `CSV_MAP`), every cell quoted, timestamps
    as '2026-01-30 23:55:29'."""

    def write(path: Path) -> None:
        rows = _rows()
        names = [CSV_NAMES.get(key, key) for key in rows[0]]
        with open(path, "w", newline="") as out:
            writer = csv.writer(out, quoting=csv.QUOTE_ALL)
            writer.writerow(names)
            for row in rows:
                row["timestamp"] = _iso(row["timestamp"], zone="").replace("T", " ")
                writer.writerow(["" if v is None else v for v in row.values()])

    return _cached("quoted.csv", write)


def plain_csv() -> Path:
    """The clean file as CSV: the schema's names, nothing quoted, 'YYYY-MM-DDTHH:MM:SSZ'."""

    def write(path: Path) -> None:
        rows = _rows()
        with open(path, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(list(rows[0]))
            for row in rows:
                row["timestamp"] = _iso(row["timestamp"])
                writer.writerow(["" if v is None else v for v in row.values()])

    return _cached("plain.csv", write)


def stragglers_jsonl() -> Path:
    """The clean file with one record in 500 moved an hour later in the file (late by less
    than the store's day of lateness): a daily file with a few stragglers."""

    def write(path: Path) -> None:
        lines = clean().read_bytes().splitlines(keepends=True)
        late = [i for i in range(1000, len(lines) - 1000, 500)]
        for i in reversed(late):
            lines.insert(i + 200, lines.pop(i))  # 200 records later: minutes, not hours
        path.write_bytes(b"".join(lines))

    return _cached("stragglers.jsonl", write)


def _cached(name: str, write) -> Path:
    path = FOLDER / name
    if not path.exists():
        FOLDER.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        write(tmp)
        tmp.rename(path)
    return path
