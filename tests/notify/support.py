"""Real local servers for channel tests: an HTTP recorder and an SMTP server with STARTTLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(
    check: Callable[[], Awaitable[T]], *, seconds: float, what: str, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + seconds
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(interval)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Recorder:
    """What the HTTP server received, and how it answers (a queue of statuses, then 200)."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok":true}'
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default_status


@contextmanager
def recording_server() -> Iterator[Recorder]:
    """A threaded HTTP/1.1 server on 127.0.0.1 that records POSTs and answers from ``Recorder``.

    Built to keep up with a worker's many concurrent sends on a loaded machine: connections are
    kept alive (the client's pool reuses them instead of opening one per request), the listen
    backlog is deep, each answer goes out in one unbuffered write without Nagle's delay, and an
    idle connection is closed only after a long timeout, so a reused connection is never cut.
    """
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
        disable_nagle_algorithm = True
        wbufsize = 64 * 1024  # http.server flushes after each request
        timeout = 120  # seconds an idle kept-alive connection may wait for its next request

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with recorder.lock:
                recorder.requests.append(
                    Request(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
            code = recorder.next_status()
            self.send_response(code)
            for name, value in recorder.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(recorder.body)))
            self.end_headers()
            self.wfile.write(recorder.body)  # buffered: sent with the headers in one flush

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # the workers open many connections at once
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls_context(directory: Path) -> ssl.SSLContext:
    cert, key = self_signed_cert(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@dataclass
class SplitServer:
    """What :func:`split_server` received: ``/hang`` holds each request unanswered while
    ``hanging`` (until ``release``), ``/ok`` answers at once. Times are ``time.monotonic()``."""

    url: str = ""
    hanging: bool = True
    release: threading.Event = field(default_factory=threading.Event)
    #: requests to /hang being held now, the most held at once, connections that reached /hang
    held: int = 0
    most_held: int = 0
    hang_connections: set[int] = field(default_factory=set)
    #: dedup key → arrival time, of requests answered 200 (either path)
    answered: dict[str, list[float]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def wait(self, check: Callable[[], bool], *, seconds: float, what: str) -> None:
        """Wait (in a thread, on the condition) until ``check()`` holds; fail after ``seconds``."""

        def until() -> bool:
            with self.changed:
                return self.changed.wait_for(check, timeout=seconds)

        if not await asyncio.to_thread(until):
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@contextmanager
def split_server() -> Iterator[SplitServer]:
    """A threaded HTTP/1.1 server on 127.0.0.1 with a hanging and a healthy endpoint."""
    state = SplitServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 120

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length") or 0))
            key = self.headers.get("x-agentdeck-dedup-key", "")
            if self.path == "/hang" and state.hanging:
                with state.changed:
                    state.held += 1
                    state.most_held = max(state.most_held, state.held)
                    state.hang_connections.add(id(self.connection))
                    state.changed.notify_all()
                state.release.wait(60)
                with state.changed:
                    state.held -= 1
                    state.changed.notify_all()
                self.close_connection = True
                return  # never answered: the sender times out or is gone
            arrived = time.monotonic()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with state.changed:
                state.answered.setdefault(key, []).append(arrived)
                state.changed.notify_all()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
