"""Start and stop a throwaway ``clickhouse-server`` on free 127.0.0.1 ports."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from clickhouse_driver import Client  # type: ignore[import-untyped]
from clickhouse_driver import errors as ch_errors

BINARY = "/usr/sbin/clickhouse-server"
USERS_XML = "/etc/clickhouse-server/users.xml"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, tcp_port: int, http_port: int) -> str:
    return f"""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{USERS_XML}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>1073741824</mark_cache_size>
  <timezone>UTC</timezone>
  <compression>
    <case><method>zstd</method></case>
  </compression>
</yandex>
"""


@contextmanager
def clickhouse(timeout: float = 60.0) -> Iterator[str]:
    """Yield the ``clickhouse://`` URL of a fresh server with an empty temporary data directory.

    Parts are compressed with zstd (server-wide ``<compression>``: ClickHouse 18.16 has no
    per-column codecs), as a production configuration for logs would."""
    binary = shutil.which(BINARY) or shutil.which("clickhouse-server")
    if binary is None:
        raise RuntimeError(
            "clickhouse-server is not installed (Debian package clickhouse-server; "
            "scripts/test-deps.sh installs it)"
        )
    tcp_port, http_port = _free_port(), _free_port()
    log: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-clickhouse-") as tmp:
        root = Path(tmp)
        config = root / "config.xml"
        config.write_text(_config(root, tcp_port, http_port), encoding="utf-8")
        process = subprocess.Popen(
            [binary, f"--config-file={config}"],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def drain() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                log.append(line)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        # The driver logs every refused connection with a traceback while the server starts.
        logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("clickhouse-server did not start:\n" + "".join(log[-20:]))
                client = Client(host="127.0.0.1", port=tcp_port, connect_timeout=2)
                try:
                    if client.execute("SELECT 1") == [(1,)]:
                        break
                except (ch_errors.Error, OSError, EOFError):
                    time.sleep(0.1)  # still starting: poll again
                finally:
                    client.disconnect()
            yield f"clickhouse://127.0.0.1:{tcp_port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            reader.join(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
