"""``agentdeck webhook listen``: prints each notification it receives, exits after --count."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, **kwargs: object) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.post(url, timeout=5, **kwargs)  # type: ignore[arg-type]
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling for the listener to bind, not synchronising on time


def test_listen_prints_one_line_per_alert_and_exits_after_count() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.cli.main", "webhook", "listen", "--port", str(port),
         "--count", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        payload = {
            "status": "firing",
            "alerts": [
                {"status": "firing", "labels": {"alertname": "HighErrors", "agent": "bot"}},
                {"status": "resolved", "labels": {"alertname": "SlowBot", "agent": "bot"}},
            ],
        }
        first = _post(f"http://127.0.0.1:{port}/", json=payload)
        second = _post(f"http://127.0.0.1:{port}/hook", content=b"plain text")
        assert (first.status_code, second.status_code) == (200, 200)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out.splitlines() == [
        "firing HighErrors agent=bot",
        "resolved SlowBot agent=bot",
        "plain text",
    ]
    assert f"listening on http://127.0.0.1:{port}/" in err


def test_listen_gives_up_after_the_timeout() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentdeck.cli.main", "webhook", "listen", "--port", "0",
         "--timeout", "0.2"],
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no notification before the timeout" in result.stderr
