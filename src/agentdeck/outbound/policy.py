"""The outbound policy: which addresses the server may connect to on behalf of a user.

Checked after DNS resolution, on every address a name resolves to, and then the connection goes
to an address that was checked (see ``clients``), so a second DNS answer cannot swap it.

In order, for every address (IPv4-mapped, IPv4-compatible, NAT64, 6to4 and Teredo IPv6 forms
are checked as the IPv4 address they carry, too):

1. cloud metadata services, link-local, "this network", multicast and reserved addresses are
   always refused, whatever the lists say;
2. an address or host name on ``outbound.deny`` is refused;
3. an address or host name on ``outbound.allow`` is allowed;
4. loopback is refused unless ``outbound.allow_loopback``; private and other non-global
   addresses are refused unless ``outbound.allow_private``;
5. everything else (the public internet) is allowed.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import re
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdeck.settings import OutboundSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "outbound"


def _networks(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


#: Cloud metadata and credential services (AWS, ECS/EKS, GCP, Azure, Alibaba, Oracle).
METADATA_NETWORKS = _networks(
    "169.254.169.254/32",
    "169.254.170.2/32",
    "169.254.170.23/32",
    "100.100.100.200/32",
    "192.0.0.192/32",
    "fd00:ec2::254/128",
    "fd00:ec2::23/128",
)
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
LINK_LOCAL_NETWORKS = _networks("169.254.0.0/16", "fe80::/10")
#: "This network", multicast, reserved (240/4 with the broadcast address), unspecified.
RESERVED_NETWORKS = _networks("0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "::/128", "ff00::/8")
LOOPBACK_NETWORKS = _networks("127.0.0.0/8", "::1/128")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Older spellings of IPv4 addresses that resolvers still take: 2130706433, 0177.0.0.1, 0x7f.1.
_LEGACY_V4 = re.compile(r"^(0[xX][0-9a-fA-F]*|[0-9]+)(\.(0[xX][0-9a-fA-F]*|[0-9]+)){0,3}$")


class OutboundRefused(Exception):
    """The outbound policy refuses this destination.

    ``reason`` is the category (safe to show anyone), ``target`` the address or host name.
    """

    def __init__(self, reason: str, target: str) -> None:
        super().__init__(f"blocked by outbound policy: {reason} ({target})")
        self.reason = reason
        self.target = target

    @property
    def summary(self) -> str:
        return f"blocked by outbound policy: {self.reason}"


def parse_entry(entry: str) -> IPNetwork | str:
    """A CIDR (or a single address) as a network, otherwise a lower-case host pattern
    (``*.`` wildcard allowed). Raises ``ValueError`` for anything else."""
    text = entry.strip()
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        pass
    host = text.lower().rstrip(".")
    labels = host[2:].split(".") if host.startswith("*.") else host.split(".")
    if not host or not all(
        label and len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
        for label in labels
    ):
        raise ValueError(f"{entry!r} is neither a CIDR nor a host name")
    return host


def literal_address(host: str) -> IPAddress | None:
    """The address a host spells literally (any spelling a resolver takes), else ``None``."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _LEGACY_V4.match(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _views(address: IPAddress) -> Iterator[IPAddress]:
    """The address, and the IPv4 addresses an IPv6 form carries (and would reach)."""
    if isinstance(address, ipaddress.IPv4Address):
        yield address
        return
    if address.ipv4_mapped is not None:
        yield address.ipv4_mapped
        return
    yield address
    value = int(address)
    if 1 < value < 2**32:  # IPv4-compatible ::a.b.c.d (deprecated, still routed by some)
        yield ipaddress.IPv4Address(value)
    if address in _NAT64:
        yield ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address.sixtofour is not None:
        yield address.sixtofour
    if address.teredo is not None:
        yield address.teredo[1]


def _within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def _host_matches(host: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in patterns)


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


@dataclass(frozen=True)
class OutboundPolicy:
    """Where outbound connections made for users may go (see the module docstring)."""

    allow_networks: tuple[IPNetwork, ...] = ()
    allow_hosts: tuple[str, ...] = ()
    deny_networks: tuple[IPNetwork, ...] = ()
    deny_hosts: tuple[str, ...] = ()
    allow_loopback: bool = False
    allow_private: bool = False

    @classmethod
    def of(
        cls,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        allow_loopback: bool = False,
        allow_private: bool = False,
    ) -> OutboundPolicy:
        allow_n, allow_h = _split(allow)
        deny_n, deny_h = _split(deny)
        return cls(allow_n, allow_h, deny_n, deny_h, allow_loopback, allow_private)

    @classmethod
    def from_settings(cls, settings: OutboundSettings) -> OutboundPolicy:
        return cls.of(
            allow=settings.allow,
            deny=settings.deny,
            allow_loopback=settings.allow_loopback,
            allow_private=settings.allow_private,
        )

    def extended(self, allow: Iterable[str]) -> OutboundPolicy:
        """This policy with more allow entries (e.g. the health-probe allow list)."""
        networks, hosts = _split(allow)
        return OutboundPolicy(
            self.allow_networks + networks,
            self.allow_hosts + hosts,
            self.deny_networks,
            self.deny_hosts,
            self.allow_loopback,
            self.allow_private,
        )

    # --- checks ------------------------------------------------------------------------------

    def check_name(self, host: str) -> bool:
        """Refuse a host name that is always or explicitly refused; whether ``allow`` names
        it (its addresses then skip the loopback and private checks)."""
        name = _normal_host(host)
        if name in METADATA_HOSTS:
            raise OutboundRefused("cloud metadata host", name)
        if _host_matches(name, self.deny_hosts):
            raise OutboundRefused("denied host", name)
        return _host_matches(name, self.allow_hosts)

    def check_address(self, address: IPAddress, *, host_allowed: bool = False) -> None:
        """Raise :class:`OutboundRefused` unless a connection to ``address`` is allowed."""
        for view in _views(address):
            self._check_one(view, host_allowed)

    def _check_one(self, address: IPAddress, host_allowed: bool) -> None:
        shown = str(address)
        if _within(address, METADATA_NETWORKS):
            raise OutboundRefused("cloud metadata address", shown)
        if _within(address, LINK_LOCAL_NETWORKS):
            raise OutboundRefused("link-local address", shown)
        if _within(address, RESERVED_NETWORKS):
            raise OutboundRefused("reserved address", shown)
        if _within(address, self.deny_networks):
            raise OutboundRefused("denied address", shown)
        if host_allowed or _within(address, self.allow_networks):
            return
        if _within(address, LOOPBACK_NETWORKS):
            if not self.allow_loopback:
                raise OutboundRefused("loopback address", shown)
            return
        if not address.is_global and not self.allow_private:
            raise OutboundRefused("private address", shown)

    def check_static(self, host: str) -> None:
        """What can be checked without DNS: a literal address, or a refused host name.

        For validation when a destination is saved; the check that counts is at connect time.
        """
        literal = literal_address(host)
        if literal is not None:
            self.check_address(literal)
        else:
            self.check_name(host)

    def refuses_always(self, host: str) -> OutboundRefused | None:
        """The refusal when ``host`` is refused whatever the lists and flags say (a metadata
        name or a metadata, link-local or reserved literal address), else ``None``."""
        strict = OutboundPolicy(allow_loopback=True, allow_private=True)
        try:
            strict.check_static(host)
        except OutboundRefused as exc:
            return exc
        return None

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses to connect to for ``host``: every address it resolves to
        must be allowed. Raises :class:`OutboundRefused`, or ``socket.gaierror`` when the name
        does not resolve."""
        literal = literal_address(host)
        if literal is not None:
            self.check_address(literal)
            return [literal]
        host_allowed = self.check_name(host)
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        found: dict[IPAddress, None] = {}
        for info in infos:
            found[ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])] = None
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
        addresses = list(found)
        for address in addresses:  # every answer must be allowed, not only the first
            self.check_address(address, host_allowed=host_allowed)
        return addresses


def _split(entries: Iterable[str]) -> tuple[tuple[IPNetwork, ...], tuple[str, ...]]:
    networks: list[IPNetwork] = []
    hosts: list[str] = []
    for entry in entries:
        parsed = parse_entry(entry)
        if isinstance(parsed, str):
            hosts.append(parsed)
        else:
            networks.append(parsed)
    return tuple(networks), tuple(hosts)


def sort_addresses(addresses: Sequence[IPAddress]) -> list[IPAddress]:
    """IPv4 first (what most hosts reach), otherwise the resolver's order."""
    return sorted(addresses, key=lambda a: a.version)
