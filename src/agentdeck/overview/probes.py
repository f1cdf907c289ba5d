"""Health-URL probes and the allow-list that keeps them from reaching arbitrary addresses.

An agent's ``config.health_url`` is set by its developers, and the server fetches it: without
a limit that would let them make the server probe internal services (SSRF). A probe goes out
only when every address its host resolves to is allowed by ``realtime.health_probe_allow``
(CIDRs, or host names with an optional ``*.`` wildcard), and then to the address that was
checked (so a second DNS answer cannot swap it). Link-local and cloud metadata addresses are
refused even when a broad entry covers them, unless an entry names them explicitly (lies
within them, such as ``169.254.169.254/32``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from agentdeck.overview.schemas import HealthStatus
from agentdeck.settings import DEFAULT_PROBE_ALLOW

__all__ = ["DEFAULT_PROBE_ALLOW", "Check", "ProbePolicy", "ProbeRefused", "probe", "resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Refused unless an allow entry lies within them: link-local (cloud metadata services live
#: at 169.254.169.254 and fd00:ec2::254), "this network", multicast.
ALWAYS_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",
        "fe80::/10",
        "fd00:ec2::254/128",
        "0.0.0.0/8",
        "::/128",
        "224.0.0.0/4",
        "ff00::/8",
    )
)
SETTING = "realtime.health_probe_allow"


class ProbeRefused(Exception):
    """The health URL may not be probed; the message says why."""


def parse_entry(entry: str) -> IPNetwork | str:
    """A CIDR (or a single address) as a network, otherwise a lower-case host pattern.

    Raises ``ValueError`` for anything else."""
    text = entry.strip()
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        pass
    host = text.lower().rstrip(".")
    labels = host[2:].split(".") if host.startswith("*.") else host.split(".")
    if not host or not all(
        label and len(label) <= 63 and label.replace("-", "").isalnum() for label in labels
    ):
        raise ValueError(f"{entry!r} is neither a CIDR nor a host name")
    return host


@dataclass(frozen=True)
class ProbePolicy:
    networks: tuple[IPNetwork, ...]
    hosts: tuple[str, ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> ProbePolicy:
        networks: list[IPNetwork] = []
        hosts: list[str] = []
        for entry in entries:
            parsed = parse_entry(entry)
            if isinstance(parsed, str):
                hosts.append(parsed)
            else:
                networks.append(parsed)
        return cls(tuple(networks), tuple(hosts))

    def host_allowed(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.hosts)

    def check(self, address: IPAddress, *, host_allowed: bool = False) -> None:
        """Raise ``ProbeRefused`` unless ``address`` may be probed."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        covering = [n for n in self.networks if n.version == address.version and address in n]
        refused = [n for n in ALWAYS_REFUSED if n.version == address.version and address in n]
        if refused:
            if not any(_within(entry, refused) for entry in covering):
                raise ProbeRefused(
                    f"probe refused: {address} is a link-local, metadata or reserved address; "
                    f"only an entry of {SETTING} that names it allows it"
                )
            return
        if not covering and not host_allowed:
            raise ProbeRefused(f"probe refused: {address} is not allowed by {SETTING}")


def _within(entry: IPNetwork, networks: Sequence[IPNetwork]) -> bool:
    return any(
        entry.version == n.version and entry.subnet_of(n)  # type: ignore[arg-type]
        for n in networks
    )


def _address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class Target:
    """Where a checked probe goes: the URL with the checked address in place of the host."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any]


async def resolve(policy: ProbePolicy, raw_url: str) -> Target:
    """Check ``raw_url`` against the policy after resolving its host; raise ``ProbeRefused``."""
    try:
        url = httpx.URL(raw_url)
    except httpx.InvalidURL as exc:
        raise ProbeRefused(f"probe refused: invalid URL ({exc})") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ProbeRefused("probe refused: only http and https URLs with a host are probed")
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = _address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise ProbeRefused(f"cannot resolve {host}: {exc}") from exc
        found = dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos)
        addresses = sorted(found, key=lambda a: a.version)  # IPv4 first, else resolver order
        if not addresses:
            raise ProbeRefused(f"cannot resolve {host}")
    host_allowed = literal is None and policy.host_allowed(host)
    for address in addresses:  # every answer must be allowed, not only the first
        policy.check(address, host_allowed=host_allowed)
    if literal is not None:
        return Target(url, {}, {})
    netloc = host if url.port is None else f"{host}:{url.port}"
    extensions: dict[str, Any] = {"sni_hostname": host} if url.scheme == "https" else {}
    return Target(url.copy_with(host=str(addresses[0])), {"Host": netloc}, extensions)


@dataclass
class Check:
    status: HealthStatus
    response_time_ms: float | None
    error: str | None


async def probe(client: httpx.AsyncClient, policy: ProbePolicy, url: str, limit: float) -> Check:
    """GET the health URL if the policy allows it: 2xx healthy, other answers unhealthy,
    refusals and failures error, no answer within ``limit`` seconds timeout."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            target = await resolve(policy, url)
            started = time.perf_counter()
            response = await client.get(
                target.url, headers=target.headers, extensions=target.extensions
            )
    except ProbeRefused as exc:
        return Check(HealthStatus.error, None, str(exc))
    except (TimeoutError, httpx.TimeoutException):
        return Check(HealthStatus.timeout, None, f"no answer within {limit:g} s")
    except Exception as exc:  # refused, reset, bad URL…: only this entry is marked
        return Check(HealthStatus.error, None, f"{type(exc).__name__}: {exc}".rstrip(": "))
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    if 200 <= response.status_code < 300:
        return Check(HealthStatus.healthy, elapsed, None)
    return Check(
        HealthStatus.unhealthy, elapsed, f"health check answered HTTP {response.status_code}"
    )
