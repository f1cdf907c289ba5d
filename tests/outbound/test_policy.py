"""The outbound policy over IPv4 and IPv6 ranges, odd spellings, names and settings."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from agentdeck.outbound import OutboundPolicy, OutboundRefused, excerpt, literal_address
from agentdeck.settings import OutboundSettings

DEFAULT = OutboundPolicy()
OPEN = OutboundPolicy(allow_loopback=True, allow_private=True)


def reason(policy: OutboundPolicy, address: str) -> str | None:
    """The refusal's category, or None when the address is allowed."""
    try:
        policy.check_address(ipaddress.ip_address(address))
    except OutboundRefused as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.1", "loopback address"),
        ("127.255.0.7", "loopback address"),
        ("::1", "loopback address"),
        ("10.1.2.3", "private address"),
        ("172.16.0.1", "private address"),
        ("172.31.255.254", "private address"),
        ("192.168.1.1", "private address"),
        ("100.64.0.1", "private address"),  # shared address space (carrier NAT)
        ("fd12:3456::1", "private address"),
        ("2001:db8::1", "private address"),  # documentation: not global
        ("169.254.169.254", "cloud metadata address"),
        ("169.254.170.2", "cloud metadata address"),
        ("fd00:ec2::254", "cloud metadata address"),
        ("100.100.100.200", "cloud metadata address"),
        ("169.254.1.1", "link-local address"),
        ("fe80::1", "link-local address"),
        ("0.0.0.0", "reserved address"),  # reaches the local host on Linux
        ("::", "reserved address"),
        ("224.0.0.1", "reserved address"),
        ("255.255.255.255", "reserved address"),
        ("ff02::1", "reserved address"),
        # IPv6 forms that carry an IPv4 address are checked as that address too
        ("::ffff:169.254.169.254", "cloud metadata address"),
        ("::ffff:127.0.0.1", "loopback address"),
        ("::ffff:10.0.0.1", "private address"),
        ("::ffff:8.8.8.8", None),
        ("::127.0.0.1", "loopback address"),  # IPv4-compatible
        ("64:ff9b::a9fe:a9fe", "cloud metadata address"),  # NAT64 of 169.254.169.254
        ("2002:a9fe:a9fe::1", "cloud metadata address"),  # 6to4 of 169.254.169.254
        ("2002:7f00:1::1", "loopback address"),  # 6to4 of 127.0.0.1
    ],
)
def test_default_policy(address: str, expected: str | None) -> None:
    assert reason(DEFAULT, address) == expected


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.3.4",
        "fe80::1",
        "0.0.0.0",
        "::ffff:169.254.169.254",
    ],
)
def test_metadata_link_local_and_reserved_are_refused_whatever_is_allowed(address: str) -> None:
    policy = OutboundPolicy.of(
        allow=["0.0.0.0/0", "::/0", address], allow_loopback=True, allow_private=True
    )
    assert reason(policy, address) is not None


def test_flags_open_loopback_and_private_only() -> None:
    loopback = OutboundPolicy(allow_loopback=True)
    assert reason(loopback, "127.0.0.1") is None
    assert reason(loopback, "::1") is None
    assert reason(loopback, "10.0.0.1") == "private address"
    private = OutboundPolicy(allow_private=True)
    assert reason(private, "10.0.0.1") is None
    assert reason(private, "fd00::5") is None
    assert reason(private, "127.0.0.1") == "loopback address"
    assert reason(OPEN, "169.254.169.254") == "cloud metadata address"


def test_allow_entries_open_their_range_and_deny_wins() -> None:
    policy = OutboundPolicy.of(allow=["10.1.0.0/16", "::1"], deny=["10.1.2.0/24", "8.8.8.8"])
    assert reason(policy, "10.1.9.9") is None
    assert reason(policy, "::1") is None
    assert reason(policy, "10.2.0.1") == "private address"
    assert reason(policy, "10.1.2.3") == "denied address"
    assert reason(policy, "8.8.8.8") == "denied address"
    assert reason(policy, "::ffff:8.8.8.8") == "denied address"
    assert reason(policy, "127.0.0.1") == "loopback address"


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),  # decimal
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0x7f.0.0.1", "127.0.0.1"),  # hexadecimal
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # short form
        ("2852039166", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"),
    ],
)
def test_every_spelling_of_an_address_is_read_as_that_address(spelling: str, address: str) -> None:
    assert literal_address(spelling) == ipaddress.ip_address(address)
    with pytest.raises(OutboundRefused):
        DEFAULT.check_static(spelling)


@pytest.mark.parametrize("name", ["example.com", "1e100.net", "0x7f.example", "deadbeef.test"])
def test_host_names_are_not_read_as_addresses(name: str) -> None:
    assert literal_address(name) is None


async def test_names_are_checked_on_every_address_they_resolve_to() -> None:
    with pytest.raises(OutboundRefused) as refused:
        await DEFAULT.resolve("localhost", 80)
    assert refused.value.reason == "loopback address"
    assert ipaddress.ip_address("127.0.0.1") in await OutboundPolicy(allow_loopback=True).resolve(
        "localhost", 80
    )
    # an allowed name may resolve to loopback or private addresses (not to metadata ones)
    assert await OutboundPolicy.of(allow=["localhost"]).resolve("localhost", 80)
    for spelled in ("2130706433", "0177.0.0.1"):
        with pytest.raises(OutboundRefused, match="loopback"):
            await DEFAULT.resolve(spelled, 80)


@pytest.mark.parametrize(
    "name", ["metadata.google.internal", "METADATA.google.internal.", "metadata", "metadata.goog"]
)
async def test_metadata_names_are_refused_before_any_lookup(name: str) -> None:
    policy = OutboundPolicy.of(allow=[name.lower().rstrip(".")], allow_private=True)
    with pytest.raises(OutboundRefused, match="cloud metadata host"):
        await policy.resolve(name, 80)


async def test_denied_names_and_wildcards() -> None:
    policy = OutboundPolicy.of(deny=["*.internal.test", "localhost"], allow_loopback=True)
    with pytest.raises(OutboundRefused, match="denied host"):
        await policy.resolve("LocalHost", 80)
    with pytest.raises(OutboundRefused, match="denied host"):
        policy.check_static("db.internal.test")


def test_settings_take_comma_separated_lists_and_name_a_bad_entry() -> None:
    settings = OutboundSettings(allow="10.0.0.0/8, agents.internal ,*.svc.local", deny="::1")  # type: ignore[arg-type]
    assert settings.allow == ["10.0.0.0/8", "agents.internal", "*.svc.local"]
    assert settings.deny == ["::1"]
    assert settings.allow_loopback is False and settings.allow_private is False
    with pytest.raises(ValidationError) as failed:
        OutboundSettings(deny=["10.0.0.0/8", "not a host!"])
    error = failed.value.errors()[0]
    assert error["loc"] == ("deny",)
    assert "not a host!" in error["msg"]


def test_excerpts_are_short_and_escaped() -> None:
    assert excerpt(b"line\r\nnext\x1b[31m\\") == "line\\r\\nnext\\x1b[31m\\\\"
    long = excerpt("é" * 500)
    assert long == "é" * 200
    escaped = excerpt(b"\x00" * 500)
    assert len(escaped) <= 200 and escaped == "\\x00" * 50
