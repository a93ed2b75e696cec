"""Rejects: a record that could not be used (`Reject`), one record validated into a `Txn` or
the `Reject` saying why (`validated`), and where rejects go (`RejectSink`: counted by reason,
written as JSONL when asked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fraudcli.errors import FraudError, StrictRejectError
from fraudcli.files import Staged, is_stream
from fraudcli.records.field_checks import RecordError
from fraudcli.records.redact import active_redactor
from fraudcli.records.schema import Txn, validate


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be used: where it was, why, and its raw text."""

    line: int
    reason: str
    raw: str

    def to_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason, "raw": self.raw}


def validated(obj: dict, line_no: int, text: str | None, lenient: bool) -> Txn | Reject:
    try:
        return validate(obj, lenient)
    except RecordError as exc:
        return Reject(line_no, str(exc), text if text is not None else dumps_raw(obj))


def dumps_raw(obj: dict) -> str:
    return json.dumps(obj, default=str, ensure_ascii=False)


class RejectSink:
    """Counts rejects by reason and writes them as JSONL when a path is given: the file appears
    whole when the run completes (`close`), or not at all (`abort`; see `fraudcli.io.atomic`).
    As a context manager it closes on success and aborts on an exception."""

    def __init__(self, path: str | Path | None) -> None:
        self._staged = Staged(path) if path and not is_stream(path) else None
        target = self._staged.path if self._staged else path
        self._out = open(target, "w", encoding="utf-8") if target else None  # noqa: SIM115
        self.count = 0
        self.reasons: dict[str, int] = {}
        self._redactor = active_redactor()  # under --redact (fraudcli.redact)

    def add(self, reject: Reject, strict: bool = False) -> None:
        """Count `reject` and write it; under `strict` (--strict), then stop the run with it
        (StrictRejectError)."""
        written = reject if self._redactor is None else self._redactor.reject(reject)
        self.count += 1
        key = written.reason.split(":")[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1
        if self._out is not None:
            self._out.write(json.dumps(written.to_dict(), ensure_ascii=False) + "\n")
        if strict:
            raise StrictRejectError(f"line {reject.line}: {reject.reason} (--strict)")

    def close(self) -> None:
        if self._out is not None and not self._out.closed:
            self._out.close()
            if self._staged is not None:
                self._staged.commit()

    def abort(self) -> None:
        if self._out is not None and not self._out.closed:
            self._out.close()
            if self._staged is not None:
                self._staged.discard()

    def __enter__(self) -> RejectSink:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        # the rejects explain a run that fraud stopped (--strict, too little data): kept;
        # an interrupted, killed or broken run leaves no file that looks whole
        explains = kind is not None and issubclass(kind, FraudError) and self.count > 0
        self.close() if kind is None or explains else self.abort()


Item = tuple[int, "str | None", "Txn | Reject"]
