"""Clients through the outbound policy, against real servers on 127.0.0.1: every redirect hop
is checked, connections go to the checked address with the name kept, refusals happen before
anything is sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import aiohttp
import httpx
import pytest

from agentdeck.outbound import OutboundPolicy, OutboundRefused, check_url, connect, connector
from agentdeck.outbound import http_client as outbound_client
from tests.outbound.support import serving


@dataclass
class Seen:
    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)


@pytest.fixture
def server() -> Iterator[Seen]:
    """Answers /ok; /to-metadata, /to-v6-loopback and /to-self redirect; /loop redirects to
    itself."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            seen.requests.append((self.path, self.headers.get("host", "")))
            targets = {
                "/to-metadata": "http://169.254.169.254/latest/meta-data/",
                "/to-v6-loopback": f"http://[::1]:{seen.port}/ok",
                "/to-self": f"http://127.0.0.1:{seen.port}/ok",
                "/loop": "/loop",
            }
            if self.path in targets:
                self.send_response(302)
                self.send_header("Location", targets[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    with serving(Handler) as port:
        seen.port = port
        yield seen


ONLY_V4_LOOPBACK = OutboundPolicy.of(allow=["127.0.0.1/32"])


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/to-metadata", "cloud metadata address"), ("/to-v6-loopback", "loopback address")],
)
async def test_a_redirect_to_a_refused_address_is_refused(
    server: Seen, path: str, reason: str
) -> None:
    async with outbound_client(ONLY_V4_LOOPBACK, follow_redirects=True, timeout=5) as client:
        with pytest.raises(OutboundRefused) as refused:
            await client.get(f"http://127.0.0.1:{server.port}{path}")
    assert refused.value.reason == reason
    assert [p for p, _ in server.requests] == [path]  # the first hop only


async def test_allowed_redirects_are_followed_up_to_the_limit(server: Seen) -> None:
    async with outbound_client(
        ONLY_V4_LOOPBACK, follow_redirects=True, max_redirects=3, timeout=5
    ) as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/to-self")
        assert response.status_code == 200 and response.text == "ok"
        with pytest.raises(httpx.TooManyRedirects):
            await client.get(f"http://127.0.0.1:{server.port}/loop")
    assert [p for p, _ in server.requests].count("/loop") == 4  # the request and 3 redirects


async def test_without_follow_redirects_the_redirect_is_the_answer(server: Seen) -> None:
    async with outbound_client(ONLY_V4_LOOPBACK, timeout=5) as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/to-metadata")
    assert response.status_code == 302
    assert [p for p, _ in server.requests] == ["/to-metadata"]


async def test_the_default_policy_refuses_loopback_before_sending(server: Seen) -> None:
    async with outbound_client(OutboundPolicy(), timeout=5) as client:
        for host in ("127.0.0.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"):
            with pytest.raises(OutboundRefused, match="loopback address"):
                await client.get(f"http://{host}:{server.port}/ok")
    assert server.requests == []


async def test_a_name_is_connected_on_its_checked_address_and_keeps_its_host_header(
    server: Seen,
) -> None:
    async with outbound_client(OutboundPolicy(allow_loopback=True), timeout=5) as client:
        response = await client.get(f"http://localhost:{server.port}/ok")
    assert response.status_code == 200
    assert server.requests == [("/ok", f"localhost:{server.port}")]


async def test_aiohttp_sessions_check_literal_addresses_and_resolve_names_through_the_policy(
    server: Seen,
) -> None:
    policy = OutboundPolicy()
    async with aiohttp.ClientSession(connector=connector(policy)) as session:
        with pytest.raises(OutboundRefused, match="loopback address"):
            check_url(policy, f"http://127.0.0.1:{server.port}/ok")
        with pytest.raises(OutboundRefused, match="cloud metadata address"):
            check_url(policy, "http://[::ffff:a9fe:a9fe]/latest")
        with pytest.raises(OutboundRefused, match="loopback address"):
            await session.get(f"http://localhost:{server.port}/ok")
    assert server.requests == []
    allowed = OutboundPolicy(allow_loopback=True)
    async with aiohttp.ClientSession(connector=connector(allowed)) as session:
        check_url(allowed, f"http://localhost:{server.port}/ok")
        async with session.get(f"http://localhost:{server.port}/ok") as response:
            assert response.status == 200
    assert server.requests == [("/ok", f"localhost:{server.port}")]


async def test_sockets_connect_only_to_allowed_addresses(server: Seen) -> None:
    with pytest.raises(OutboundRefused, match="loopback address"):
        await connect(OutboundPolicy(), "localhost", server.port)
    sock = await connect(OutboundPolicy(allow_loopback=True), "localhost", server.port)
    try:
        assert sock.getpeername()[1] == server.port
    finally:
        sock.close()
