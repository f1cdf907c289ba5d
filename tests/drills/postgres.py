"""A private PostgreSQL server for the restart drill (the shared one on 5432 is never touched):
``initdb`` into a scratch directory owned by the ``postgres`` user, started and stopped with
``pg_ctl`` on a free 127.0.0.1 port. A missing binary fails the test: it is never skipped."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.redis_server import free_port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.fail("pg_ctl is missing: install the Debian package postgresql", pytrace=False)
    return Path(found[-1]).parent


class PrivatePostgres:
    """``start()`` runs the server (again, on the same port and data after ``stop()``)."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        # the postgres user must reach it: not under pytest's private (0700) temporary tree
        self.root = Path(tempfile.mkdtemp(prefix="agentdeck-drill-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        user = pwd.getpwnam("postgres")
        os.chown(self.root, user.pw_uid, user.pw_gid)
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{tool}: {result.stdout}\n{result.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast``: what a service manager's restart does (clients are disconnected)."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)
