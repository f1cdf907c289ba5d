"""A real HTTP scrape target on a free 127.0.0.1 port (``http.server`` in a thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: A timestamp a scraped sample carries itself (one minute ago, whole seconds).
OWN_TS_MS = (int(time.time()) - 60) * 1000

PROM_TEXT = """\
# HELP demo_requests_total Requests handled.
# TYPE demo_requests_total counter
demo_requests_total{code="200",job="inner"} 41
demo_requests_total{code="500",job="inner"} 1
# HELP demo_temperature Current temperature.
# TYPE demo_temperature gauge
demo_temperature 21.5
demo_old_gauge 7 OWN_TS_MS
# TYPE demo_latency_seconds histogram
demo_latency_seconds_bucket{le="0.1"} 3
demo_latency_seconds_bucket{le="+Inf"} 4
demo_latency_seconds_sum 0.9
demo_latency_seconds_count 4
"""

OPENMETRICS = """\
# TYPE om_events counter
# HELP om_events Events seen.
om_events_total{kind="a"} 5 OWN_TS_S.250
om_events_created{kind="a"} CREATED_S OWN_TS_S.250
# TYPE om_up gauge
om_up{instance="inner:1"} 1
# EOF
"""
PROM_TEXT = PROM_TEXT.replace("OWN_TS_MS", str(OWN_TS_MS))
#: Names over the default limits (255 bytes): refused per sample, the rest kept.
LONG_NAMES = f"""\
{"n" * 100_000} 1
demo_ok{{{"l" * 300}="x"}} 2
demo_ok 3
"""
OPENMETRICS = OPENMETRICS.replace("OWN_TS_S", str(OWN_TS_MS // 1000)).replace(
    "CREATED_S", str(OWN_TS_MS // 1000 - 3600)
)


class _Handler(BaseHTTPRequestHandler):
    server: TargetServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.server.requests.append((self.path, dict(self.headers)))
        if self.path == "/metrics":
            self._send(200, PROM_TEXT, "text/plain; version=0.0.4; charset=utf-8")
        elif self.path == "/openmetrics":
            self._send(
                200, OPENMETRICS, "application/openmetrics-text; version=1.0.0; charset=utf-8"
            )
        elif self.path == "/slow":
            self.server.release.wait(10)
            self._send(200, PROM_TEXT, "text/plain")
        elif self.path == "/error":
            self._send(500, "boom", "text/plain")
        elif self.path == "/long-names":
            self._send(200, LONG_NAMES, "text/plain; version=0.0.4")
        elif self.path == "/garbage":
            self._send(200, "this is { not prometheus\n", "text/plain")
        else:
            self._send(404, "not found", "text/plain")

    def _send(self, status: int, body: str, content_type: str) -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the scraper gave up (timeout)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class TargetServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def target_server() -> Iterator[TargetServer]:
    server = TargetServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the target is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/metrics"
