"""`--redact`: identifiers in rejects and messages replaced by a keyed hash.

Raw lines of card data should not end up in log files. Under `--redact` every reject (in the
`--rejects` file, in the counts by reason, in `--json` / `--report`) and the `--strict` message
are redacted before they leave the process:

- a reject's raw text that is a JSON object (a JSONL line, a Parquet or record-path row): the
  values of identifier fields, at any depth, become hashes, and it is written back as JSON.
  Identifier fields: transaction_id, user_id, device_id, the input columns mapped to them
  (`--map`, `[columns]`), and any field whose name has one of the words in IDENTIFIER_WORDS
  (card_number, PAN, customerEmail...). In every other text or integer, a run of 13 to 19
  digits (spaces or dashes between them allowed) that passes the Luhn check, a card number,
  becomes a hash too;
- any other raw text (malformed JSON, a CSV row, invalid UTF-8...) is dropped: `raw` becomes
  "". Which words of a broken line are identifiers cannot be told; its line number still
  points into the input, where the data stays;
- a reason or message: each quoted value ('...' or "...") that is not a field name and has a
  letter or digit becomes a hash ("duplicate transaction_id '#3f9a...'"), as do card numbers.

A hash is "#" + the first 16 hex digits of HMAC-SHA256(key, the value as text): the same value
gives the same hash wherever it appears. A plain SHA-256 would not protect a card number: there
are few enough of them to find one from its hash by trying them all. The key is FRAUD_REDACT_KEY
(32 bytes or more) when set, so that hashes are stable across runs and whoever holds the key can
match them; otherwise a random key made for the run and never stored, so hashes match within
one run only and nobody can recover or confirm an identifier from them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fraudcli.errors import UsageError
from fraudcli.records.schema import FIELDS, ColumnMap

KEY_ENV = "FRAUD_REDACT_KEY"
MIN_KEY_BYTES = 32
IDENTIFIER_FIELDS = ("transaction_id", "user_id", "device_id")
IDENTIFIER_WORDS = frozenset(
    {"card", "pan", "cc", "ccn", "cvv", "cvc", "account", "acct", "iban", "email", "phone"}
    | {"ssn", "customer", "user", "device"}
)
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class Redactor:
    """Replaces identifiers with keyed hashes; `source` says where its key came from."""

    def __init__(self, key: bytes, source: str, columns: ColumnMap | None = None) -> None:
        self._key, self.source = key, source
        mapping = (columns or ColumnMap()).mapping
        self._names = frozenset(IDENTIFIER_FIELDS) | {
            column for field, column in mapping if field in IDENTIFIER_FIELDS
        }
        self._fields = frozenset(FIELDS) | {column for _, column in mapping}

    @classmethod
    def for_run(cls, columns: ColumnMap, environ: Mapping[str, str] = os.environ) -> Redactor:
        """Keyed by FRAUD_REDACT_KEY when set, else by a random key for this run only."""
        text = environ.get(KEY_ENV)
        if text is None:
            return cls(secrets.token_bytes(32), "a random key for this run", columns)
        key = text.strip().encode("utf-8", "surrogateescape")
        if len(key) < MIN_KEY_BYTES:
            raise UsageError(f"{KEY_ENV} must be at least {MIN_KEY_BYTES} bytes")
        return cls(key, KEY_ENV, columns)

    def hash(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return "#" + digest.hexdigest()[:16]

    def reject(self, reject):
        """A `fraudcli.rejects.Reject` with its reason and raw text redacted."""
        return dataclasses.replace(
            reject, reason=self.text(reject.reason), raw=self.raw(reject.raw)
        )

    def text(self, message: str) -> str:
        """`message` with quoted values (not field names) and card numbers hashed."""
        return self._cards(_QUOTED.sub(self._quoted, message))

    def raw(self, raw: str) -> str:
        """A JSON object with its identifiers hashed; "" for anything else."""
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                return ""
            return json.dumps(self._value(obj, False), ensure_ascii=False)
        except (ValueError, RecursionError):
            return ""

    def _quoted(self, match: re.Match) -> str:
        inner = match.group()[1:-1]
        if inner in self._fields or not any(c.isalnum() for c in inner):
            return match.group()
        quote = match.group()[0]
        return f"{quote}{self.hash(inner)}{quote}"

    def _cards(self, text: str) -> str:
        def swap(match: re.Match) -> str:
            digits = re.sub(r"[ -]", "", match.group())
            return self.hash(digits) if _luhn(digits) else match.group()

        return _CARD.sub(swap, text)

    def _value(self, value: Any, identifier: bool) -> Any:
        if isinstance(value, dict):
            return {
                k: self._value(v, identifier or self._is_identifier(k)) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._value(v, identifier) for v in value]
        if value is None or isinstance(value, bool):
            return value
        if identifier:
            return self.hash(value if isinstance(value, str) else json.dumps(value))
        if isinstance(value, str):
            return self._cards(value)
        if isinstance(value, int) and _luhn(str(value)) and 13 <= len(str(value)) <= 19:
            return self.hash(str(value))
        return value

    def _is_identifier(self, name: str) -> bool:
        if name in self._names:
            return True
        words = re.split(r"[^a-z0-9]+", _CAMEL.sub("_", name).lower())
        return not IDENTIFIER_WORDS.isdisjoint(words)


def _luhn(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_active: Redactor | None = None


def active_redactor() -> Redactor | None:
    """The running command's redactor (None without --redact): rejects sinks pick it up."""
    return _active


@contextmanager
def redacting(redactor: Redactor | None) -> Iterator[Redactor | None]:
    """Redact every reject recorded inside the block (process-wide, as `signing.trusting`)."""
    global _active
    before, _active = _active, redactor
    try:
        yield redactor
    finally:
        _active = before
