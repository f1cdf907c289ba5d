"""`agentdeck backup` while the server keeps ingesting, and `agentdeck restore` into a fresh
data directory: every metric sample and log line acknowledged before the backup began comes
back, nothing appears that was never acknowledged, and keys made before it still work.
A damaged backup, one from a newer schema, a non-empty target and a running server are refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_serve import _free_port

pytestmark = pytest.mark.timeout(300)  # two servers start, ingest and copy: slow when loaded


@dataclass
class Server:
    home: Path
    env: dict[str, str]
    url: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Any = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``agentdeck ARGS``; stdout carries stderr too (the CLI prints errors there)."""
        result = subprocess.run(
            [sys.executable, "-m", "agentdeck.cli.main", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env["AGENTDECK_SERVER__PORT"] = str(port)
        self.log = (self.home / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentdeck.cli.main", "serve", "--port", str(port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 150
        while True:
            assert self.process.poll() is None, (self.home / "serve.log").read_text()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (self.home / "serve.log").read_text()
            time.sleep(0.1)  # polling readiness against a deadline

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        if self.log is not None:
            self.log.close()
            self.log = None


def make_server(home: Path) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
        "AGENTDECK_ENV_FILE": str(home / "none.env"),
        "AGENTDECK_DATA_DIR": str(home / "data"),
        "AGENTDECK_DATABASE__URL": f"sqlite+aiosqlite:///{home / 'data' / 'state.db'}",
        "AGENTDECK_LOG_LEVEL": "WARNING",
        "AGENTDECK_RATE_LIMIT__ENABLED": "false",
        "COLUMNS": "300",  # the CLI's messages on one line
    }
    return Server(home=home, env=env)


@dataclass
class Ingest:
    """Steady ingest of metric samples and log lines; counts what was acknowledged."""

    url: str
    key: str
    acked_samples: int = 0
    acked_lines: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    batches: int = 0

    def run(self) -> None:
        headers = {"X-API-Key": self.key}
        t0 = int(time.time() * 1000) - 600_000
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            i = 0
            while not self.stop.is_set() and i < 400:
                samples = [
                    {
                        "name": "backup_probe",
                        "value": 1,
                        "timestamp": t0 + i * 50 + j,
                        "labels": {"agent": "b"},
                    }
                    for j in range(50)
                ]
                assert client.post("/api/v1/metrics/batch", json={"samples": samples}).is_success
                self.acked_samples += 50
                lines = [
                    {"service": "backup", "severity": "INFO", "message": f"line {i}-{j}"}
                    for j in range(50)
                ]
                assert client.post("/api/v1/logs/batch", json={"entries": lines}).is_success
                self.acked_lines += 50
                self.batches += 1
                i += 1


def counts(url: str, key: str) -> tuple[int, int]:
    headers = {"X-API-Key": key}
    query = httpx.get(
        f"{url}/api/v1/query",
        params={"query": "sum(count_over_time(backup_probe[1h]))"},
        headers=headers,
        timeout=30,
    ).json()
    result = query["data"]["result"]
    samples = int(float(result[0]["value"][1])) if result else 0
    lines, cursor = 0, None
    while True:
        start = datetime.fromtimestamp(time.time() - 7200, UTC).isoformat()
        params = {"query": '{service="backup"}', "limit": 1000, "start": start}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(f"{url}/api/v1/logs", params=params, headers=headers, timeout=30)
        assert page.status_code == 200, page.text
        body = page.json()
        lines += len(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            return samples, lines


@pytest.fixture
def original(tmp_path: Path) -> Iterator[Server]:
    server = make_server(tmp_path / "original")
    server.cli("migrate")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_online_backup_then_restore_into_a_fresh_data_directory(
    original: Server, tmp_path: Path
) -> None:
    key = original.cli("apikey", "create", "ingest", "--role", "developer").stdout.split()[-1]
    ingest = Ingest(original.url, key)
    worker = threading.Thread(target=ingest.run)
    worker.start()
    try:
        while ingest.batches < 5:  # the backup starts while batches keep coming
            assert worker.is_alive()
            time.sleep(0.05)  # waiting on the ingest thread's progress counter
        before_samples, before_lines = ingest.acked_samples, ingest.acked_lines
        backup = tmp_path / "backup"
        done = original.cli("backup", str(backup), "--url", original.url)
        assert "online backup" in done.stdout
    finally:
        ingest.stop.set()
        worker.join(timeout=120)
    after_samples, after_lines = ingest.acked_samples, ingest.acked_lines
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["mode"] == "online"
    assert {f["path"] for f in manifest["files"]} >= {
        "state.db",
        "metrics.duckdb",
        "logs.duckdb",
        "secret.key",
    }
    original.stop()

    fresh = make_server(tmp_path / "fresh")
    restored = fresh.cli("restore", str(backup))
    assert "restored the backup" in restored.stdout
    fresh.start()
    try:
        samples, lines = counts(fresh.url, key)  # the key was made before the backup
        assert before_samples <= samples <= after_samples, (before_samples, samples, after_samples)
        assert before_lines <= lines <= after_lines, (before_lines, lines, after_lines)
        # and the generated secret key came back: a token signed by the original verifies
        running = fresh.cli("backup", str(tmp_path / "again"), "--url", fresh.url)
        assert "online backup" in running.stdout
        # a restore while the server runs is refused
        refused = fresh.cli("restore", str(backup), check=False)
        assert refused.returncode != 0 and "stop it before restoring" in refused.stdout
    finally:
        fresh.stop()


def test_damaged_newer_and_misplaced_backups_are_refused(original: Server, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    original.cli("backup", str(backup), "--url", original.url)
    again = original.cli("backup", str(backup), "--url", original.url, check=False)
    assert again.returncode != 0 and "not empty" in again.stdout
    original.stop()

    target = make_server(tmp_path / "target")
    target.cli("migrate")
    state = tmp_path / "target" / "data" / "state.db"
    state_before = state.read_bytes()

    damaged = tmp_path / "damaged"
    subprocess.run(["cp", "-r", str(backup), str(damaged)], check=True)
    with (damaged / "state.db").open("r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 0xFF]))
    result = target.cli("restore", str(damaged), check=False)
    assert result.returncode != 0
    assert "damaged" in result.stdout and "state.db: checksum mismatch" in result.stdout

    newer = tmp_path / "newer"
    subprocess.run(["cp", "-r", str(backup), str(newer)], check=True)
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["schema_revision"] = "9999"
    (newer / "manifest.json").write_text(json.dumps(manifest))
    result = target.cli("restore", str(newer), check=False)
    assert result.returncode != 0 and "newer than this agentdeck knows" in result.stdout

    result = target.cli("restore", str(tmp_path), check=False)
    assert result.returncode != 0 and "not an agentdeck backup" in result.stdout
    # nothing was touched by the refused restores
    assert state.read_bytes() == state_before
    assert not list((tmp_path / "target" / "data").glob("pre-restore-*"))


def test_the_backup_endpoint_wants_a_fresh_operator_token(original: Server) -> None:
    from agentdeck.app.backup import operator_token

    url = f"{original.url}/api/v1/ops/backup"
    key = (original.home / "data" / "secret.key").read_text().strip()
    stale = operator_token(key, time.time() - 3600)
    body = {"directory": "/nonexistent/x"}
    for headers in (
        {},
        {"X-Agentdeck-Operator": operator_token("another key" * 5)},
        {"X-Agentdeck-Operator": stale},
    ):
        answer = httpx.post(url, json=body, headers=headers, timeout=10)
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
