"""Redis state addresses: the forms, the options, the errors, and a password never shown."""

from __future__ import annotations

import sys

import pytest

from fraudcli.errors import StateUnavailable, UsageError
from fraudcli.features.redis_url import (
    MISSING_CLIENT,
    RedisURL,
    connect,
    is_redis_url,
    parse_redis_url,
    shown,
)
from fraudcli.state.keeper import StateOptions


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("redis://localhost", RedisURL("redis", "localhost", 6379)),
        ("redis://h:6380/2", RedisURL("redis", "h", 6380, db=2)),
        ("redis://:pw@h:1/0", RedisURL("redis", "h", 1, password="pw")),
        ("redis://me:p%40ss@h:1/0", RedisURL("redis", "h", 1, username="me", password="p@ss")),
        ("rediss://h/0?ssl_ca_certs=/ca.pem",
         RedisURL("rediss", "h", 6379, ssl_ca_certs="/ca.pem")),
        ("unix:///tmp/r.sock", RedisURL("unix", socket="/tmp/r.sock")),
        ("unix:///tmp/r.sock?db=3&prefix=a:b:",
         RedisURL("unix", socket="/tmp/r.sock", db=3, prefix="a:b:")),
        ("redis://h/0?ttl=90d", RedisURL("redis", "h", 6379, ttl=90 * 86400.0)),
        ("redis://h/0?ttl=3600", RedisURL("redis", "h", 6379, ttl=3600.0)),
    ],
)  # fmt: skip
def test_the_forms(text, want):
    assert is_redis_url(text)
    assert parse_redis_url(text) == want
    if want.password is None:  # shown, it reads back the same
        assert parse_redis_url(str(want)) == want


@pytest.mark.parametrize(
    "text",
    [
        "redis://:hunter2@h:notaport/0",
        "redis://:hunter2@/0",
        "redis://:hunter2@h/zero",
        "redis://:hunter2@h/0?ttl=0",
        "redis://:hunter2@h/0?ttl=soon",
        "redis://:hunter2@h/0?prefix=",
        "redis://:hunter2@h/0?color=red",
        "unix://:hunter2@",
    ],
)
def test_bad_addresses_are_usage_errors_without_the_password(text):
    with pytest.raises(UsageError) as error:
        parse_redis_url(text)
    assert "hunter2" not in str(error.value)
    assert "***" in str(error.value)


def test_the_password_is_never_shown():
    url = parse_redis_url("redis://user:hunter2@h:1/0?prefix=p:")
    for text in (str(url), repr(url), shown("redis://user:hunter2@h:1/0"), f"{url}"):
        assert "hunter2" not in text and "***" in text
    assert str(url) == "redis://user:***@h:1/0?prefix=p:"
    assert shown("fraud-state") == "fraud-state"  # a directory: as it is


def test_directories_are_not_addresses():
    for text in ("fraud-state", "/var/lib/state", "redis", "redis.d/x", "./unix:/x"):
        assert not is_redis_url(text)
        assert StateOptions(text).redis is None
    options = StateOptions("redis://h/0")
    assert options.path is None and options.redis == RedisURL("redis", "h", 6379)


def test_without_redis_py_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # `import redis` fails as if missing
    with pytest.raises(UsageError, match=r"pip install 'fraudcli\[redis\]'") as error:
        connect(parse_redis_url("redis://:hunter2@h/0"))
    assert str(error.value) == MISSING_CLIENT


def test_a_server_that_is_not_there_is_unavailable(tmp_path):
    url = parse_redis_url(f"unix://{tmp_path / 'nobody.sock'}")
    with pytest.raises(StateUnavailable, match="nobody.sock"):
        connect(url, timeout=1.0)
