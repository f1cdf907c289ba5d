"""Start and stop a throwaway ``victoria-metrics`` server on a free 127.0.0.1 port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

BINARY = "/usr/bin/victoria-metrics"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def victoria_metrics(timeout: float = 30.0) -> Iterator[str]:
    """Yield the URL of a fresh server with an empty temporary data directory."""
    binary = shutil.which(BINARY) or shutil.which("victoria-metrics")
    if binary is None:
        raise RuntimeError(
            "victoria-metrics is not installed (Debian package victoria-metrics; "
            "scripts/test-deps.sh installs it)"
        )
    port = _free_port()
    started = threading.Event()
    log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-vm-") as data_dir:
        process = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{port}",
                f"-storageDataPath={data_dir}",
                "-retentionPeriod=100y",
                "-maxLabelsPerTimeseries=64",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

        def drain() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                log.append(line)
                if "pprof handlers are exposed" in line:
                    started.set()
            started.set()

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            if not started.wait(timeout) or process.poll() is not None:
                raise RuntimeError("victoria-metrics did not start:\n" + "".join(log[-20:]))
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(transport=httpx.HTTPTransport(retries=5), timeout=10) as client:
                client.get(f"{url}/health").raise_for_status()
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            reader.join(timeout=10)
            if process.stderr is not None:
                process.stderr.close()
