"""Rejects: a record that could not be used (`Reject`), one record validated into a `Txn` or
the `Reject` saying why (`_validated`), and where rejects go (`RejectSink`: counted by reason,
written as JSONL when asked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fraudcli.redact import active_redactor
from fraudcli.schema import RecordError, Txn, validate


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that could not be used: where it was, why, and its raw text."""

    line: int
    reason: str
    raw: str

    def to_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason, "raw": self.raw}


def _validated(obj: dict, line_no: int, text: str | None, lenient: bool) -> Txn | Reject:
    try:
        return validate(obj, lenient)
    except RecordError as exc:
        return Reject(line_no, str(exc), text if text is not None else dumps_raw(obj))


def dumps_raw(obj: dict) -> str:
    return json.dumps(obj, default=str, ensure_ascii=False)


class RejectSink:
    """Counts rejects by reason and writes them as JSONL when a path is given."""

    def __init__(self, path: str | Path | None) -> None:
        self._out = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115
        self.count = 0
        self.reasons: dict[str, int] = {}
        self._redactor = active_redactor()  # under --redact (fraudcli.redact)

    def add(self, reject: Reject) -> None:
        if self._redactor is not None:
            reject = self._redactor.reject(reject)
        self.count += 1
        key = reject.reason.split(":")[0]
        self.reasons[key] = self.reasons.get(key, 0) + 1
        if self._out is not None:
            self._out.write(json.dumps(reject.to_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
