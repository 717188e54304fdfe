"""A throwaway PostgreSQL cluster from the machine's server binaries, on loopback.

PostgreSQL refuses to run as root: when we are root, the cluster is created and run as the
unprivileged user ``nobody`` (override with PG_RUN_AS).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devinfra.ports import free_port

HOW_TO_GET = (
    "PostgreSQL server binaries (initdb, postgres) were not found on PATH, via pg_config, or under "
    "/usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: apt-get install postgresql) or set PG_BIN."
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def postgres_bindir() -> Path:
    """Find the directory holding initdb and postgres; raise PostgresUnavailable with advice."""
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            candidates.append(
                subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
            )
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "postgres").exists():
            return path
    raise PostgresUnavailable(HOW_TO_GET)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    return os.environ.get("PG_RUN_AS", "nobody")


@dataclass
class PostgresServer:
    """One PostgreSQL cluster: ``start()``, use ``url(dbname)``, ``stop()``."""

    port: int = field(default_factory=free_port)
    user: str = "postgres"
    root: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{dbname}"

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def start(self, *, fsync: bool = False, commit_timestamps: bool = False) -> PostgresServer:
        """Create the cluster in a temporary directory and start the server; wait until it accepts.
        ``commit_timestamps``: keep each transaction's commit time (``pg_xact_commit_timestamp``)."""
        bindir = postgres_bindir()
        run_as = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="pg-"))
        if run_as:
            entry = pwd.getpwnam(run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._log = open(self.root / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            user=run_as,
            cwd=self.root,
        )
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "max_connections": "200",
            "fsync": "on" if fsync else "off",
            "synchronous_commit": "on" if fsync else "off",
            "full_page_writes": "on" if fsync else "off",
            "shared_buffers": "128MB",
            "track_commit_timestamp": "on" if commit_timestamps else "off",
        }
        args = [str(bindir / "postgres"), "-D", str(self.datadir)]
        for key, value in options.items():
            args += ["-c", f"{key}={value}"]
        self._args = args
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, user=run_as, cwd=self.root)
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the server accepts connections."""
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'server.log').read_text()[-2000:]}")  # type: ignore[operator]
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def create_database(self, name: str) -> str:
        """Create a database and return its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop_keep(self) -> None:
        """Stop the server (fast shutdown), keeping its data for ``start_again()``."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: disconnect clients
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def start_again(self) -> None:
        """Start the server again on its data directory and port."""
        run_as = _run_as()
        assert self.root is not None
        self.process = subprocess.Popen(
            self._args, stdout=self._log, stderr=subprocess.STDOUT, user=run_as, cwd=self.root
        )
        self.wait_ready()

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        self.stop_keep()
        self.process = None
        if getattr(self, "_log", None):
            self._log.close()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
