"""Client addresses behind reverse proxies: networks may be trusted, and a client cannot choose
the address recorded for it by sending its own X-Forwarded-For."""

from __future__ import annotations

import pytest

from agentdeck.identity.roles import Role
from agentdeck.server.proxies import TrustedProxies
from tests.conftest import Factory
from tests.identity.helpers import AppFactory


def test_right_most_untrusted_hop_is_the_client() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "192.0.2.1"])
    # nginx appended the address it saw; the left part came from the client
    assert proxies.client("10.1.2.3", "6.6.6.6, 203.0.113.7") == "203.0.113.7"
    # two trusted hops (an edge balancer, then nginx)
    assert proxies.client("192.0.2.1", "203.0.113.7, 10.9.9.9") == "203.0.113.7"
    # an untrusted peer's header is ignored entirely
    assert proxies.client("198.51.100.4", "203.0.113.7") == "198.51.100.4"
    # a trusted peer without the header is the client itself
    assert proxies.client("10.1.2.3", None) == "10.1.2.3"
    assert proxies.client("10.1.2.3", "") == "10.1.2.3"


def test_ipv6_networks_and_forwarded_proto() -> None:
    proxies = TrustedProxies(["fd00::/8"])
    assert proxies.trusts("fd12::1")
    assert not proxies.trusts("2001:db8::1")
    assert not proxies.trusts("not an address")
    assert proxies.forwarded_value("fd12::1", "http, https") == "https"
    assert proxies.forwarded_value("2001:db8::1", "https") is None


def test_an_entry_that_is_no_address_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match=r"server\.trusted_proxies: 'nginx'"):
        TrustedProxies(["10.0.0.1", "nginx"])


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        pytest.param(["127.0.0.0/8"], "203.0.113.7", id="behind-a-trusted-network"),
        pytest.param([], "127.0.0.1", id="no-trusted-proxy"),
    ],
)
async def test_audit_records_the_real_client_not_a_spoofed_one(
    app_factory: AppFactory, factory: Factory, trusted: list[str], expected: str
) -> None:
    client = await app_factory(server={"trusted_proxies": trusted})
    admin = await factory.user(Role.admin)
    spoofed = {**admin.headers, "X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    created = await client.post(
        "/api/v1/agents", json={"name": "proxied", "type": "custom"}, headers=spoofed
    )
    assert created.status_code == 201, created.text
    log = await client.get(
        "/api/v1/audit-log", params={"action": "agent.create"}, headers=admin.headers
    )
    assert log.status_code == 200, log.text
    (entry,) = [e for e in log.json()["items"] if e["resource_id"] == created.json()["id"]]
    assert entry["ip"] == expected
