"""Lines of text input as they arrive: limits, the byte order mark, and CSV's text lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

MAX_LINE_BYTES = 1 << 20


CHUNK_BYTES = 1 << 20


_BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark


def reader_of(stream: BinaryIO) -> Callable[[int], bytes]:
    """`stream`'s read (`read1` where there is one: what has arrived), a UTF-8 byte order mark
    at the very start left out (editors on Windows write one)."""
    read = getattr(stream, "read1", stream.read)
    first = True

    def read_skipping_bom(size: int) -> bytes:
        nonlocal first
        data = read(size)
        if first and data:
            first = False
            if data.startswith(_BOM):
                data = data[len(_BOM) :] or read(size)
        return data

    return read_skipping_bom


def line_chunks(stream: BinaryIO, greedy: bool = False) -> Iterator[list[bytes | None]]:
    """Lists of complete lines as they arrive; None stands for a line over MAX_LINE_BYTES.
    `greedy`: a list holds all that has arrived (up to ARRIVED_BYTES), not one read's worth."""
    read = _everything_arrived(stream) if greedy else reader_of(stream)
    tail = b""
    oversized = False  # inside a line already known to be too long: skip to its end
    while True:
        data = read(CHUNK_BYTES)
        if not data:
            break
        lines = (tail + data).split(b"\n")
        tail = lines.pop()
        if oversized and lines:
            lines[0] = None
            oversized = False
        lines = [line if line is None or len(line) <= MAX_LINE_BYTES else None for line in lines]
        if len(tail) > MAX_LINE_BYTES:
            tail, oversized = b"", True
        if lines:
            yield lines
    if oversized:
        yield [None]
    elif tail:
        yield [tail]


ARRIVED_BYTES = 1 << 24  # at most this much that has arrived is taken at once
_QUEUED = 256  # reads held for the taker before the reading thread waits


def _everything_arrived(stream: BinaryIO) -> Callable[[int], bytes]:
    """A read of all that has arrived since the last (up to ARRIVED_BYTES), waiting only when
    nothing has: a thread reads `stream` as data comes, so what arrives while the taker works
    on the last lot is there at its next read. The thread reads the unbuffered stream under
    `stream` where there is one (nothing has read `stream` before: its buffer is empty): a
    buffered stream's read holds the stream's lock while it waits on the pipe, and a run that
    ends meanwhile (SIGTERM, the pipe still open) could stop at exit with "could not acquire
    lock for <stdin> at interpreter shutdown" (SIGABRT) when the pipe closed as it exited."""
    import queue
    import threading

    read, pieces = reader_of(getattr(stream, "raw", stream)), queue.Queue(_QUEUED)

    def reading() -> None:
        try:
            while data := read(CHUNK_BYTES):
                pieces.put(data)
            pieces.put(b"")
        except BaseException as exc:  # handed to the taker, which raises it
            pieces.put(exc)

    threading.Thread(target=reading, name="read", daemon=True).start()
    ended = False

    def read_arrived(_size: int) -> bytes:
        nonlocal ended
        if ended:
            return b""
        parts, got = [], 0
        piece = pieces.get()
        while True:
            if isinstance(piece, BaseException):
                raise piece
            if not piece:
                ended = True
                break
            parts.append(piece)
            got += len(piece)
            if got >= ARRIVED_BYTES or pieces.empty():
                break
            piece = pieces.get_nowait()
        return b"".join(parts)

    return read_arrived


class TextLines:
    """Binary lines -> text lines for the csv module; remembers the last bad-UTF-8 line."""

    def __init__(self, binary: BinaryIO) -> None:
        self._binary = binary
        self.bad_utf8: str | None = None
        self._first = True

    def __iter__(self) -> TextLines:
        return self

    def __next__(self) -> str:
        raw = self._binary.readline(MAX_LINE_BYTES + 2)
        if not raw:
            raise StopIteration
        if self._first:
            self._first = False
            raw = raw.removeprefix(_BOM)
        if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            while raw and not raw.endswith(b"\n"):  # skip to the end of the line
                raw = self._binary.readline(MAX_LINE_BYTES)
            return TOO_LONG + "\n"
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.bad_utf8 = raw.decode("utf-8", "replace").rstrip("\r\n")
            return BAD_UTF8 + "\n"


# What `TextLines` gives the csv module for a line it cannot hand over (each is one cell).
BAD_UTF8 = "\x00BAD-UTF8\x00"
TOO_LONG = "\x00TOO-LONG\x00"
