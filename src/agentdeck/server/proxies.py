"""Which peer is a trusted reverse proxy, and the client address behind it.

``server.trusted_proxies`` lists addresses or networks (``10.0.0.5``, ``172.16.0.0/12``). A
proxy such as nginx *appends* the address it received the request from to
``X-Forwarded-For``, so everything to the left of that is whatever the client chose to send.
The client is therefore the right-most address that is not itself a trusted proxy; taking the
left-most would let any client pick the address that rate limits and the audit log record.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """A set of trusted proxy networks."""

    __slots__ = ("_networks",)

    def __init__(self, entries: Iterable[str]) -> None:
        networks: list[Network] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(
                    f"server.trusted_proxies: {entry!r} is not an IP address or network"
                ) from exc
        self._networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: str | None) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        if not address or not self._networks:
            return False
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client address: ``peer`` unless it is a trusted proxy that forwarded one."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer

    def forwarded_value(self, peer: str | None, header: str | None) -> str | None:
        """A single-valued forwarded header (``X-Forwarded-Proto``) of a trusted proxy."""
        if not header or not self.trusts(peer):
            return None
        return header.split(",")[-1].strip()


@lru_cache(maxsize=8)
def trusted_proxies(entries: tuple[str, ...]) -> TrustedProxies:
    """The parsed set for a settings list (cached: the list is fixed for a process)."""
    return TrustedProxies(entries)
