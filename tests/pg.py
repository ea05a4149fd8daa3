"""A real, throwaway PostgreSQL for DuckLake tests and benchmarks (Debian's `postgresql` package).

initdb into a temp dir, pg_ctl on a free loopback port (its socket in the temp dir too, so no clash with a
system cluster), one fresh database per test, stopped and deleted at the end. PostgreSQL refuses to run as root,
so as root the server runs as the `postgres` user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from typing import Any

from tests.ports import free_port


def pg_bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]))
    return os.path.dirname(found[-1]) if found else None


class LocalPostgres:
    """`durable`: keep PostgreSQL's crash-safe defaults (fsync, synchronous_commit on), as a production server
    runs; otherwise both are off for test speed."""

    def __init__(self, *, durable: bool = False) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix="cascade-pg-")
        self.port = free_port()
        self._run_kw: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._run_kw = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [],
                            "env": {"PATH": "/usr/bin:/bin", "HOME": self.root}}
        self.data = os.path.join(self.root, "data")
        self.durable = durable
        self._databases = 0
        self.started = False

    def _run(self, *args: str) -> None:
        result = subprocess.run([os.path.join(self.bindir, args[0]), *args[1:]], capture_output=True, text=True,
                                **self._run_kw)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip()}")

    def start(self) -> LocalPostgres:
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        return self.resume()

    def pause(self) -> None:
        """Stop the server, keeping its data (a lost catalog, for fault tests); `resume` starts it again."""
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        self.started = False

    def resume(self) -> LocalPostgres:
        """Start the server on its port (after `start` initialised it, or after `pause`)."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # test speed only
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "pg.log"), "-o", options, "-w",
                  "-t", "30", "start")
        self.started = True
        return self

    def dsn(self, dbname: str) -> str:
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user=postgres"

    def new_database(self, prefix: str = "lake") -> str:
        """A fresh empty database; its DSN."""
        self._databases += 1
        name = f"{prefix}{self._databases}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.dsn(name)

    def stop(self) -> None:
        if self.started:
            subprocess.run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"],
                           capture_output=True, **self._run_kw)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)
