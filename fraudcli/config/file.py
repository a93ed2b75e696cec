"""Reading a user's fraud.toml into a dict, whatever the file holds: a ConfigError or the data.

`tomllib` has three failure modes beyond its TOMLDecodeError, each found by trying:
- it recurses once per nested array or inline table: 1,000 nested `[` give RecursionError;
- a dotted key costs it time and memory quadratic in its parts: `a.a.a...b = 1` with 20,000
  parts (a 40 KB file) takes 6 s and 1.5 GB;
- an integer of more than 4,300 digits raises a plain ValueError (Python's conversion limit).
So the size is bounded before reading everything (`--config /dev/zero` too), dotted keys are
bounded before parsing (fraud.toml's own keys have at most 2 parts), and the rest is caught.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from fraudcli.errors import ConfigError

MAX_BYTES = 8 * 2**20  # far above any real fraud.toml; long block lists fit (300,000 ids)
MAX_KEY_PARTS = 32

_BARE = r"[A-Za-z0-9_-]++"
_QUOTED = r"\"(?:[^\"\\\n]|\\.)*+\"|'[^'\n]*+'"
_PART = rf"(?:{_BARE}|{_QUOTED})"
# A dotted key of MAX_KEY_PARTS parts or more, where a key may start: a line (or a table header)
# or an inline table's `{` or `,`. Possessive quantifiers keep the scan linear on any text.
_KEY_START = r"(?:^[ \t]*+\[{0,2}|[{,])[ \t]*+"
_LONG_KEY = re.compile(
    rf"(?m){_KEY_START}{_PART}(?:[ \t]*+\.[ \t]*+{_PART}){{{MAX_KEY_PARTS - 1},}}"
)


def read_toml(path: Path) -> dict:
    """The parsed TOML document at `path`; ConfigError (naming the file) for anything else."""
    text = _read_text(path)
    deep = _LONG_KEY.search(text)
    if deep is not None:
        line = text.count("\n", 0, deep.start()) + 1
        raise ConfigError(
            f"{path}: line {line}: a dotted key of more than {MAX_KEY_PARTS} parts "
            "(fraud.toml's keys have at most 2)"
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply") from None
    except ValueError:  # int() of more than 4,300 digits
        raise ConfigError(f"{path}: a number too long to read (over 4,300 digits)") from None


def _read_text(path: Path) -> str:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:  # a directory, no permission...
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_BYTES // 2**20} MiB: not a fraud.toml")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: not UTF-8 ({exc.reason})") from None
