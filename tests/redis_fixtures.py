"""pytest fixtures for a real redis-server (a plugin: `pytest_plugins` in tests/conftest.py).

- `redis_binary`: the path of the redis-server binary (session scope); where none is found, every
  test that needs one fails with `HOW_TO_GET_REDIS` (never a skip);
- `redis_server`: a started `RedisServer` on a Unix socket, persistence off, stopped after the test;
- `make_redis_server(**options)`: starts servers with `RedisServer`'s options (tcp, password,
  persist, tls), all stopped after the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.redis_server import HOW_TO_GET_REDIS, RedisServer, find_redis_server


@pytest.fixture(scope="session")
def redis_binary() -> Path:
    binary = find_redis_server()
    if binary is None:
        pytest.fail(HOW_TO_GET_REDIS, pytrace=False)
    return binary


@pytest.fixture
def redis_server(redis_binary):
    """A started server on a Unix socket, persistence off."""
    with RedisServer(redis_binary) as server:
        yield server


@pytest.fixture
def make_redis_server(redis_binary):
    """`make_redis_server(tcp=True, password="pw", persist=True, tls=True)` -> a started server."""
    servers: list[RedisServer] = []

    def make(**options) -> RedisServer:
        server = RedisServer(redis_binary, **options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()
