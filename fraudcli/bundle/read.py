"""Reading a bundle's files safely: each a regular file inside the bundle (symlinks resolved
first), no larger than its limit, read once, its checksum taken of the bytes then parsed."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pyarrow as pa

from fraudcli.errors import BundleError

MANIFEST_LIMIT = 1 << 20  # bytes; a real manifest is about 3 KB
JSON_LIMIT = 256 << 20  # model.json and profile.json (a profile is about 1-2 MB)


def read_part(root: Path, manifest: dict, name: str) -> bytes:
    """A file the format requires, read once, its bytes checked against the manifest."""
    data = read_file(root, name, JSON_LIMIT if name.endswith(".json") else None)
    if hashlib.sha256(data).hexdigest() != manifest["files"][name]:
        raise BundleError(f"bundle {root}: {name} does not match its checksum (corrupt/edited)")
    return data


def read_file(root: Path, name: str, limit: int | None) -> bytes:
    """`root/name` if it is a regular file inside the bundle (symlinks resolved first) and no
    larger than `limit` bytes."""
    try:
        path = (root / name).resolve(strict=True)
        inside = path.is_relative_to(root.resolve(strict=True))
        info = path.stat()
    except FileNotFoundError:
        raise BundleError(f"bundle {root} is missing {name}; retrain with `fraud train`") from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, no permission...
        raise BundleError(f"bundle {root}: cannot read {name} ({exc})") from None
    if not inside:
        raise BundleError(f"bundle {root}: {name} leads outside the bundle (a symlink?)")
    if not stat.S_ISREG(info.st_mode):
        raise BundleError(f"bundle {root}: {name} is not a regular file")
    if limit is not None and info.st_size > limit:
        raise BundleError(f"bundle {root}: {name} is larger than {limit:,} bytes (corrupt)")
    with open(path, "rb") as stream:
        data = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise BundleError(f"bundle {root}: {name} is larger than {limit:,} bytes (corrupt)")
    return data


def parse_json(data: bytes, where: str, name: str):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise BundleError(f"{where}: {name} is not valid JSON (corrupt)") from None
    except RecursionError:
        raise BundleError(f"{where}: {name} is nested too deeply (corrupt)") from None


THREADED_BYTES = 8 << 20  # smaller files decode faster than Arrow's thread pool starts


def parquet_table(data: bytes) -> pa.Table:
    """One Parquet file's bytes as a table: on this thread unless the file is large (starting
    Arrow's threads costs a one-record start 30-60 ms), and by the reader `pq.ParquetFile`
    wraps: importing `pyarrow.parquet` loads `pyarrow.fs` and its S3, GCS and TLS modules
    (10 ms of a start), which a bundle in memory never uses."""
    threads = len(data) > THREADED_BYTES
    try:
        from pyarrow._parquet import ParquetReader
    except ImportError:  # (a pyarrow whose layout differs: the public way)
        import pyarrow.parquet as pq

        return pq.ParquetFile(pa.BufferReader(data)).read(use_threads=threads)
    reader = ParquetReader()
    reader.open(pa.BufferReader(data))
    return reader.read_all(use_threads=threads)


def arrow_table(data: bytes) -> pa.Table:
    """An Arrow IPC file's bytes as a table, validated in full: its buffers are used as they
    are, so offsets or lengths that point outside them must be refused before anything reads
    them (about 3 ms for a bundle's state, where decoding its Parquet took 40)."""
    from pyarrow import ipc

    table = ipc.open_file(pa.py_buffer(data)).read_all()
    table.validate(full=True)
    return table


TABLE_ERRORS = (pa.ArrowException, OSError, ValueError)  # what `stored_table` raises


def stored_table(name: str, data: bytes) -> pa.Table:
    """The bytes of a stored state table as a table: an Arrow IPC file (`NAME.arrow`), or the
    Parquet of older bundles and state directories; one of `TABLE_ERRORS` when unreadable."""
    return arrow_table(data) if name.endswith(".arrow") else parquet_table(data)


def read_state_table(root: Path, manifest: dict, part: str) -> pa.Table:
    """The state table in file `part` (`state/NAME.arrow`, or `.parquet` in older bundles)."""
    data = read_part(root, manifest, part)
    arrow = part.endswith(".arrow")
    try:
        return stored_table(part, data)
    except TABLE_ERRORS as exc:
        kind = "Arrow IPC" if arrow else "Parquet"
        raise BundleError(f"bundle {root}: {part} is not a readable {kind} file ({exc})") from None
