"""Output files that appear whole or not at all, and outputs that must not overwrite inputs.

A regular file (`-o`, `--rejects`, a model bundle) is written under a temporary name beside it,
`.NAME.fraud-PID.tmp`, and renamed into place when the run completes; a run that fails, is
interrupted or is killed leaves the previous file as it was. stdout, pipes (FIFOs) and devices
(`/dev/null`) are written directly and keep streaming.

The writing process holds an exclusive `flock` on its temporary file (for a directory, on the file
`.NAME.fraud-PID.tmp.lock` beside it, made before the directory) for as long as it writes. A later
run removes the leftovers of earlier runs beside its own output, but only those whose lock it can
take: the kernel drops a lock when its process dies, so a leftover is removed only once its writer
is provably dead, never a concurrent run's.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from fraudcli.errors import UsageError


def each_in_threads(function, items: list) -> list:
    """`[function(item) for item in items]`, the items spread over a thread per core: for work
    that releases the GIL (Arrow reading or writing Parquet, hashing); the first error raised
    is raised here."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers <= 1:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


def is_stream(path: str | Path | None) -> bool:
    """True for stdout ('-' or None), a FIFO or a device: written directly, no format needed."""
    if path is None or str(path) == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def temporary_name(final: Path) -> Path:
    return final.with_name(f".{final.name}.fraud-{os.getpid()}.tmp")


class Staged:
    """A regular file written at `path` (its temporary name) and moved to `final` by `commit`;
    `discard` removes it, and what a writer made beside it (`.<path name>.*`)."""

    def __init__(self, final: str | Path, directory: bool = False) -> None:
        self.final = Path(final)
        parent = self.final.parent
        if not parent.is_dir():
            raise UsageError(f"cannot write {self.final}: there is no directory {parent}")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"cannot write {self.final}: directory {parent} is not writable")
        self.path = temporary_name(self.final)
        remove_leftovers(self.final)
        if directory:
            self._lock = _locked(_lock_of(self.path))
            self.path.mkdir()
        else:
            self._lock = _locked(self.path)

    def commit(self) -> None:
        """Move the file (or directory) into place; a directory replaces the one there, in
        one atomic exchange where the system has one (Linux `renameat2`), so a reader or a
        crash sees the old directory or the new one, never neither."""
        if self.path.is_dir() and self.final.is_dir():
            _fsync_dir(self.path)
            if _exchanged(self.path, self.final):
                _remove(self.path)  # now the old directory
            else:  # two renames: a crash between them leaves the old one as `.old` beside
                old = old_name(self.final)
                self.final.rename(old)
                self.path.rename(self.final)
                _remove(old)
        else:
            os.replace(self.path, self.final)
        _fsync_dir(self.final.parent)
        self._release()

    def discard(self) -> None:
        _remove(self.path)
        for extra in self.path.parent.glob(f".{self.path.name}.*"):
            _remove(extra)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            _lock_of(self.path).unlink(missing_ok=True)
            os.close(self._lock)
            self._lock = None


def old_name(final: Path) -> Path:
    """Where a directory waits between the two renames of a commit without an exchange."""
    return final.with_name(f".{final.name}.fraud-{os.getpid()}.old")


def _exchanged(new: Path, final: Path) -> bool:
    """Swap two directories atomically (`renameat2(RENAME_EXCHANGE)`); False where the system
    or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        rename = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, exchange = -100, 2
    done = rename(at_cwd, os.fsencode(new), at_cwd, os.fsencode(final), exchange)
    return done == 0


def _lock_of(path: Path) -> Path:
    """The file locked for a temporary directory `path`."""
    return path.with_name(f"{path.name}.lock")


def _locked(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def remove_leftovers(final: Path) -> list[Path]:
    """The temporary files of earlier runs for `final` whose writers are dead, removed."""
    removed = []
    candidates = {*final.parent.glob(f".{final.name}.fraud-*.tmp")}
    candidates |= {
        lock.with_suffix("") for lock in final.parent.glob(f".{final.name}.fraud-*.tmp.lock")
    }
    for leftover in sorted(candidates):
        lock = _lock_of(leftover) if not leftover.is_file() else leftover
        if not _free(lock):
            continue  # a live run holds it
        for part in [leftover, _lock_of(leftover), *leftover.parent.glob(f".{leftover.name}.*")]:
            _remove(part)
        removed.append(leftover)
    return removed


def recover_directory(final: Path) -> bool:
    """Put back a directory a commit without an exchange left aside: a process that died
    between its two renames (`Staged.commit`) leaves no `final`, and the old directory as
    `.NAME.fraud-PID.old`. True when one was put back."""
    final = Path(final)
    if final.exists():
        return False
    for old in sorted(final.parent.glob(f".{final.name}.fraud-*.old")):
        writer = old.with_suffix(".tmp")  # .NAME.fraud-PID.tmp, locked while it commits
        if old.is_dir() and _free(_lock_of(writer)):
            old.rename(final)
            return True
    return False


def _free(lock: Path) -> bool:
    """True when no process holds `lock` (or it is gone: its writer released it, or died)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_distinct(
    inputs: Iterable[str | Path | None], outputs: Iterable[tuple[str, str | Path | None]]
) -> None:
    """UsageError when an output (`(option, path)`) is the same file as an input (stdin
    included when it is redirected from a file) or as another output; checked before
    anything is opened for writing. Same file: the same resolved path, or the same inode."""
    seen: list[tuple[str, Path]] = []
    for path in inputs:
        if path is None or str(path) == "-":
            stdin = _stdin_file()
            if stdin is not None:
                seen.append(("the input", stdin))
        else:
            seen.append(("the input", Path(path)))
    for option, path in outputs:
        if path is None or str(path) == "-" or is_stream(path):
            continue
        for what, other in seen:
            if _same_file(Path(path), other):
                raise UsageError(f"{option} {path} is the same file as {what}: nothing was written")
        seen.append((option, Path(path)))


def _stdin_file() -> Path | None:
    try:
        fd = sys.stdin.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return Path(f"/proc/self/fd/{fd}") if Path("/proc/self/fd").is_dir() else None
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return a.resolve() == b.resolve()
