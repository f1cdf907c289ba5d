"""Health-URL probes go only where the outbound policy, with ``realtime.health_probe_allow``
added to its allow list, allows (SSRF guard)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from agentdeck.identity.roles import Role
from agentdeck.outbound import OutboundPolicy, OutboundRefused
from agentdeck.settings import DEFAULT_PROBE_ALLOW, RealtimeSettings
from tests.conftest import Factory
from tests.overview.test_real_time_metrics import URL, AppFactory, _agent, assert_invariants


class Endpoint:
    """A local health endpoint that answers 200 and remembers the Host of each request."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "host":
                self.hosts.append(value.strip())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    server = Endpoint()
    await server.start()
    yield server
    await server.stop()


async def _overview(
    app_factory: AppFactory,
    factory: Factory,
    allow: list[str],
    urls: dict[str, str],
    outbound: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    client: httpx.AsyncClient = await app_factory(
        realtime={"health_probe_timeout_seconds": 2.0, "health_probe_allow": allow},
        loops={"enabled": False},
        outbound=outbound or {},  # the default policy unless a test says otherwise
    )
    dev = await factory.user(Role.developer, await factory.tenant())
    for name, url in urls.items():
        await _agent(client, dev, name, url)
    response = await client.get(URL, headers=dev.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_invariants(body)
    return {entry["service"]: entry for entry in body["api_metrics"]}


async def test_addresses_outside_the_allow_list_are_refused_after_resolution(
    app_factory: AppFactory, factory: Factory, endpoint: Endpoint
) -> None:
    entries = await _overview(
        app_factory,
        factory,
        ["10.0.0.0/8"],
        {
            "literal": f"http://127.0.0.1:{endpoint.port}/healthz",
            "by-name": f"http://localhost:{endpoint.port}/healthz",  # resolves to loopback
        },
    )
    for name in ("literal", "by-name"):
        assert entries[name]["status"] == "error"
        assert entries[name]["error"] == "blocked by outbound policy: loopback address"
        assert entries[name]["response_time_ms"] is None
    assert endpoint.hosts == []  # nothing was sent


async def test_host_name_entries_allow_their_host_and_the_probe_goes_to_the_checked_address(
    app_factory: AppFactory, factory: Factory, endpoint: Endpoint
) -> None:
    entries = await _overview(
        app_factory,
        factory,
        ["*.example.invalid", "localhost"],
        {
            "by-name": f"http://localhost:{endpoint.port}/healthz",
            "literal": f"http://127.0.0.1:{endpoint.port}/healthz",
        },
    )
    assert entries["by-name"]["status"] == "healthy"
    assert entries["by-name"]["error"] is None
    assert entries["literal"]["status"] == "error"  # the name was allowed, not the address
    assert endpoint.hosts == [f"localhost:{endpoint.port}"]  # the Host header is kept


async def test_the_default_allows_loopback(
    app_factory: AppFactory, factory: Factory, endpoint: Endpoint
) -> None:
    entries = await _overview(
        app_factory,
        factory,
        list(DEFAULT_PROBE_ALLOW),
        {"local": f"http://127.0.0.1:{endpoint.port}/healthz"},
    )
    assert entries["local"]["status"] == "healthy"
    assert len(endpoint.hosts) == 1


async def test_outbound_deny_wins_over_the_probe_allow_list(
    app_factory: AppFactory, factory: Factory, endpoint: Endpoint
) -> None:
    entries = await _overview(
        app_factory,
        factory,
        list(DEFAULT_PROBE_ALLOW),
        {"local": f"http://127.0.0.1:{endpoint.port}/healthz"},
        outbound={"deny": ["127.0.0.0/8"]},
    )
    assert entries["local"]["status"] == "error"
    assert entries["local"]["error"] == "blocked by outbound policy: denied address"
    assert endpoint.hosts == []


async def test_metadata_addresses_are_refused_even_under_an_allow_everything_entry(
    app_factory: AppFactory, factory: Factory
) -> None:
    entries = await _overview(
        app_factory,
        factory,
        ["0.0.0.0/0", "::/0"],
        {
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "mapped": "http://[::ffff:169.254.169.254]/latest/meta-data/",
            "link-local-v6": "http://[fe80::1]:8080/healthz",
            "ftp": "ftp://127.0.0.1/healthz",
        },
    )
    assert entries["metadata"]["error"] == "blocked by outbound policy: cloud metadata address"
    assert entries["mapped"]["error"] == "blocked by outbound policy: cloud metadata address"
    assert entries["link-local-v6"]["error"] == "blocked by outbound policy: link-local address"
    for name in ("metadata", "mapped", "link-local-v6"):
        assert entries[name]["status"] == "error"  # refused at once: not a timeout
    assert entries["ftp"]["status"] == "error"
    assert "only http and https" in entries["ftp"]["error"]


def test_not_even_an_entry_that_names_a_metadata_address_allows_it() -> None:
    policy = OutboundPolicy.of(allow=["169.254.169.254/32", "169.254.0.0/16", "0.0.0.0/0"])
    policy.check_address(ipaddress.ip_address("8.8.8.8"))
    with pytest.raises(OutboundRefused, match="cloud metadata address"):
        policy.check_address(ipaddress.ip_address("169.254.169.254"))
    with pytest.raises(OutboundRefused, match="link-local address"):
        policy.check_address(ipaddress.ip_address("169.254.1.1"))
    # probes: the default outbound policy with the default probe allow list added
    probes = OutboundPolicy().extended(DEFAULT_PROBE_ALLOW)
    for allowed in ("127.0.0.1", "10.1.2.3", "172.20.0.5", "192.168.1.1", "::1", "fd12::1"):
        probes.check_address(ipaddress.ip_address(allowed))
    probes.check_address(ipaddress.ip_address("8.8.8.8"))  # public, as for every fetch
    for refused in ("100.64.0.1", "2001:db8::1", "fe80::1", "169.254.169.254", "0.0.0.0"):
        with pytest.raises(OutboundRefused):
            probes.check_address(ipaddress.ip_address(refused))


def test_the_setting_takes_a_comma_separated_list_and_names_a_bad_entry() -> None:
    settings = RealtimeSettings(health_probe_allow="10.0.0.0/8, agents.internal ,*.svc.local")  # type: ignore[arg-type]
    assert settings.health_probe_allow == ["10.0.0.0/8", "agents.internal", "*.svc.local"]
    with pytest.raises(ValidationError) as failed:
        RealtimeSettings(health_probe_allow=["10.0.0.0/8", "not a host!"])
    error = failed.value.errors()[0]
    assert error["loc"] == ("health_probe_allow",)
    assert "not a host!" in error["msg"]
