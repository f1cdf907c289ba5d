"""A small HTTP server on 127.0.0.1 for outbound-policy tests: fixed answers per path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: What /leak answers with status 500: much longer than an excerpt, with control characters.
LEAK = b"SECRET-INTERNAL-" + b"x" * 400 + b"\x1b[2J\r\n"


@dataclass
class Seen:
    port: int = 0
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Host

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve ``handler`` on a free port of 127.0.0.1 in a thread; yields the port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@contextmanager
def answering_server() -> Iterator[Seen]:
    """GET or POST: /metrics answers Prometheus text, /leak 500 with :data:`LEAK`,
    /to-metadata redirects to the metadata address; anything else 200 ``ok``."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            seen.requests.append((self.command, self.path, self.headers.get("host", "")))
            status, body, headers = 200, b"ok", {}
            if self.path.startswith("/metrics"):
                body = b"# TYPE demo gauge\ndemo 1\n"
            elif self.path.startswith("/leak"):
                status, body = 500, LEAK
            elif self.path.startswith("/to-metadata"):
                status, body = 302, b""
                headers["Location"] = "http://169.254.169.254/latest/meta-data/"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815 - the http.server API

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    with serving(Handler) as port:
        seen.port = port
        yield seen
