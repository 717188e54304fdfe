"""A Sentinel-supervised Redis on loopback: a primary, a replica and three Sentinels (quorum 2).

For tests, benchmarks and ``make run SENTINEL=1``. The Sentinels are the same redis-server binary in
Sentinel mode, each with the configuration file it rewrites as the primary changes.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devinfra.foreground import ForegroundStop
from devinfra.ports import free_port
from devinfra.redis import RedisServer, RedisUnavailable, redis_server_binary, wait_answers

MASTER = "mymaster"


@dataclass
class SentinelServer:
    """One redis-server in Sentinel mode, monitoring ``MASTER`` at ``primary_port``."""

    primary_port: int
    port: int = field(default_factory=free_port)
    root: Path | None = None
    #: Milliseconds without answers before the primary counts as down (then the failover starts).
    down_after_ms: int = 1000
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> SentinelServer:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="sentinel-"))
        config = self.root / "sentinel.conf"
        if not config.exists():  # a restart keeps what this Sentinel learned (the current primary)
            config.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self.root}\nlogfile {self.root / 'sentinel.log'}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
                f"sentinel failover-timeout {MASTER} 10000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
        self.process = subprocess.Popen(
            [redis_server_binary(), str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait_answers(self.port, self.process, self.root / "sentinel.log")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


@dataclass
class SentinelGroup:
    """``servers[0]`` starts as the primary, ``servers[1]`` as its replica; three Sentinels watch them."""

    down_after_ms: int = 1000
    servers: list[RedisServer] = field(default_factory=list)
    sentinels: list[SentinelServer] = field(default_factory=list)

    def start(self, *, ports: tuple[int, ...] = ()) -> SentinelGroup:
        """Start the primary, the replica (synchronised) and the Sentinels (each seeing both and the others).

        ``ports``: primary, replica and the three Sentinels' ports (free ones when empty)."""
        ports = ports or tuple(free_port() for _ in range(5))
        primary = RedisServer(port=ports[0]).start()
        replica = RedisServer(port=ports[1], replica_of=primary.port).start()
        self.servers = [primary, replica]
        self.wait_replicas(primary, 1)
        self.sentinels = [
            SentinelServer(primary.port, port=port, down_after_ms=self.down_after_ms).start() for port in ports[2:5]
        ]
        self._wait(lambda: all(self._sentinel_view(s) == (primary.port, 1, 2) for s in self.sentinels),
                   "every Sentinel to see the primary, its replica and the other Sentinels")  # fmt: skip
        return self

    @property
    def addresses(self) -> str:
        """``REDIS_SENTINELS``: the Sentinels as host:port,..."""
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def env(self) -> dict[str, str]:
        """The environment that points a process of this project at the group."""
        return {"REDIS_SENTINELS": self.addresses, "REDIS_SENTINEL_MASTER": MASTER}

    def primary_port(self) -> int:
        """The primary's port, as the first Sentinel that answers names it."""
        import redis

        for sentinel in self.sentinels:
            try:
                _host, port = redis.Redis(host="127.0.0.1", port=sentinel.port, socket_timeout=2).execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER
                )
                return int(port)
            except redis.RedisError:
                continue
        raise RuntimeError("no Sentinel answers")

    def server(self, port: int) -> RedisServer:
        return next(server for server in self.servers if server.port == port)

    def kill_primary(self, *, timeout: float = 30.0) -> tuple[RedisServer, RedisServer]:
        """SIGKILL the primary; wait until the Sentinels promoted the replica. (the killed one, the new primary)"""
        old = self.server(self.primary_port())
        assert old.process is not None
        old.process.send_signal(signal.SIGKILL)
        old.process.wait()
        old.process = None
        self._wait(lambda: self.primary_port() != old.port and self._role(self.primary_port()) == "master",
                   "the Sentinels to promote the replica", timeout)  # fmt: skip
        return old, self.server(self.primary_port())

    def rejoin(self, server: RedisServer, *, timeout: float = 30.0) -> None:
        """Start ``server`` again (its data kept); wait until the Sentinels made it a synchronised replica."""
        server.start()
        primary = self.server(self.primary_port())
        self._wait(lambda: self._role(server.port) == "slave", f"{server.port} to rejoin as a replica", timeout)
        self.wait_replicas(primary, 1, timeout)

    def wait_replicas(self, primary: RedisServer, count: int, timeout: float = 30.0) -> None:
        """Wait until ``primary`` has ``count`` replicas online and in sync."""
        import redis

        def synced() -> bool:
            info = redis.Redis.from_url(primary.url, socket_timeout=2).info("replication")
            online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
            return len([r for r in online if r.get("state") == "online"]) >= count

        self._wait(synced, f"{count} replica(s) of {primary.port} in sync", timeout)

    def _role(self, port: int) -> str | None:
        import redis

        try:
            return str(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).info("replication")["role"])
        except redis.RedisError:
            return None

    def _sentinel_view(self, sentinel: SentinelServer) -> tuple[int, int, int] | None:
        import redis

        try:
            master: Any = redis.Redis(host="127.0.0.1", port=sentinel.port, socket_timeout=2).execute_command(
                "SENTINEL", "MASTER", MASTER
            )
        except redis.RedisError:
            return None
        pairs = dict(zip(master[::2], master[1::2], strict=True)) if isinstance(master, list) else master
        fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in pairs.items()}
        return int(fields["port"]), int(fields["num-slaves"]), int(fields["num-other-sentinels"])

    @staticmethod
    def _wait(condition: Any, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.1)

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()


def main() -> None:
    """`python -m devinfra.sentinel` (make run SENTINEL=1): a primary on 6390, a replica on 6391 and Sentinels on
    26390-26392, in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=6390, help="the primary's; the replica's is the next one")
    parser.add_argument("--sentinel-port", type=int, default=26390, help="the first Sentinel's; the others follow")
    args = parser.parse_args()
    ports = (args.port, args.port + 1, *(args.sentinel_port + i for i in range(3)))
    group = SentinelGroup()
    try:
        group.start(ports=ports)
    except RedisUnavailable as exc:
        sys.exit(str(exc))
    print(
        f"redis primary :{ports[0]}, replica :{ports[1]}, Sentinels {group.addresses} (master {MASTER!r})", flush=True
    )
    try:
        ForegroundStop().wait()
    finally:
        group.stop()


if __name__ == "__main__":
    main()
