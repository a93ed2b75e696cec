"""Where a Redis feature state lives, and the client that reaches it.

    redis://[[user]:password@]host[:port][/db]     TCP (port 6379, db 0 by default)
    rediss://...                                   the same over TLS (?ssl_ca_certs=PATH)
    unix:///path/to/redis.sock[?db=N]              a Unix socket

with `?prefix=` (the keys' prefix, default `fraud:`) and `?ttl=` (an idle time to live by wall
clock, e.g. `90d`, `12h`, `3600`: a key untouched that long goes; off unless given).

The password is kept out of every text made here: `str()` and `repr()` show `***`, and so do
the errors. Connecting needs redis-py (`pip install 'fraudcli[redis]'`); parsing does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from fraudcli.errors import StateUnavailable, UsageError

SCHEMES = ("redis", "rediss", "unix")
DEFAULT_PREFIX = "fraud:"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_QUERY = ("prefix", "ttl", "db", "ssl_ca_certs")
MISSING_CLIENT = (
    "a redis:// state needs redis-py: pip install 'fraudcli[redis]' (redis and hiredis)"
)


@dataclass(frozen=True)
class RedisURL:
    """A parsed state address. `password` never appears in `str()` or `repr()`."""

    scheme: str
    host: str | None = None
    port: int | None = None
    socket: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    prefix: str = DEFAULT_PREFIX
    ttl: float | None = None  # seconds of wall clock; None: keys never expire
    ssl_ca_certs: str | None = None

    def __str__(self) -> str:
        auth = ""
        if self.password is not None or self.username:
            auth = f"{quote(self.username or '', safe='')}{':***' if self.password else ''}@"
        options = []
        if self.prefix != DEFAULT_PREFIX:
            options.append(f"prefix={quote(self.prefix, safe=':/')}")
        if self.scheme == "unix" and self.db:
            options.append(f"db={self.db}")
        if self.ttl is not None:
            options.append(f"ttl={self.ttl!r}")
        if self.ssl_ca_certs is not None:
            options.append(f"ssl_ca_certs={quote(self.ssl_ca_certs, safe='/')}")
        query = "?" + "&".join(options) if options else ""
        if self.scheme == "unix":
            return f"unix://{auth}{self.socket}{query}"
        return f"{self.scheme}://{auth}{self.host}:{self.port}/{self.db}{query}"

    def __repr__(self) -> str:
        return f"RedisURL({str(self)!r})"


def is_redis_url(text: object) -> bool:
    """Whether a `--state` value names a Redis state rather than a directory."""
    if isinstance(text, RedisURL):
        return True
    return isinstance(text, str) and "://" in text and text.split("://")[0].lower() in SCHEMES


def parse_redis_url(text: str) -> RedisURL:
    """The address in `text`; UsageError (naming the address without its password) if it is
    not one of the forms above."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"not a Redis address: {_redacted(text)}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(f"not a Redis address (redis://, rediss://, unix://): {_redacted(text)}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - set(_QUERY))
    if unknown:
        known = ", ".join(_QUERY)
        raise UsageError(f"{_redacted(text)}: unknown option ?{unknown[0]}= (known: {known})")
    if query.get("prefix") == "":
        raise UsageError(f"{_redacted(text)}: ?prefix= must not be empty (the state's keys)")
    common = dict(
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        prefix=query.get("prefix", DEFAULT_PREFIX),
        ttl=_ttl(query.get("ttl"), text),
        ssl_ca_certs=query.get("ssl_ca_certs"),
    )
    if scheme == "unix":
        if not parts.path:
            raise UsageError(f"{_redacted(text)}: a unix:// address names a socket path")
        return RedisURL("unix", socket=unquote(parts.path), db=_db(query.get("db"), text), **common)
    if not parts.hostname:
        raise UsageError(f"{_redacted(text)}: no host")
    db = parts.path.strip("/") or query.get("db")
    return RedisURL(scheme, parts.hostname, port or 6379, db=_db(db, text), **common)


def shown(text: str) -> str:
    """`text` as it may be shown (an audit trail's arguments): a Redis address without its
    password, anything else as it is."""
    if not is_redis_url(text):
        return text
    try:
        return str(parse_redis_url(text))
    except UsageError:
        return _redacted(text)


def connect(url: RedisURL, timeout: float = 10.0):
    """A redis-py client for `url` (decoding replies as UTF-8, no retry of a command: a script
    resent after a timeout could have run), checked with PING. UsageError when redis-py is not
    installed; StateUnavailable when the server cannot be reached or refuses the password."""
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise UsageError(MISSING_CLIENT) from None
    options = dict(
        db=url.db,
        username=url.username,
        password=url.password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
        encoding_errors="surrogatepass",
        retry=Retry(NoBackoff(), 0),
    )
    if url.scheme == "unix":
        client = redis.Redis(unix_socket_path=url.socket, **options)
    else:
        if url.scheme == "rediss":
            options.update(ssl=True, ssl_ca_certs=url.ssl_ca_certs)
        client = redis.Redis(host=url.host, port=url.port, **options)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        raise unavailable(url, exc) from None
    return client


def unavailable(url: RedisURL, exc: BaseException) -> StateUnavailable:
    """The error for a Redis state that failed: its address (no password) and why."""
    why = str(exc).replace(url.password, "***") if url.password else str(exc)
    return StateUnavailable(f"the Redis state at {url} failed: {why or type(exc).__name__}")


def _ttl(text: str | None, url: str) -> float | None:
    if text is None:
        return None
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "s")
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 1.0):
        raise UsageError(f"{_redacted(url)}: ?ttl= is a time of at least 1 s, e.g. 90d, 12h")
    return seconds


def _db(text: str | None, url: str) -> int:
    if text is None or text == "":
        return 0
    if not text.isdigit():
        raise UsageError(f"{_redacted(url)}: the database is a number, not {text!r}")
    return int(text)


def _redacted(text: str) -> str:
    """`text` with whatever stands between '://' and the last '@' of its address hidden."""
    scheme, sep, rest = text.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}{sep}{netloc}{slash}{tail}"
