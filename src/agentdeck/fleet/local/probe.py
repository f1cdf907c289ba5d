"""Ports and health probes of local replicas.

The probe is one ``GET <health path>`` over a fresh loopback connection to the port the
supervisor gave the replica, answered 2xx or 3xx within the timeout. It does not go through
the outbound policy: the policy guards destinations a user names (scrape targets, channel
URLs, health URLs of agents elsewhere), whereas this address is always 127.0.0.1 and a port
this supervisor checked was free and handed to its own child; only the path comes from the
agent's spec, and the agent's own code already runs with the server's network access (see
docs/fleet.md). It is a few bytes over a raw socket rather than an HTTP client so that
probing fifty replicas costs next to no CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether ``port`` can be bound on every interface (what a server listening on it does)."""
    for host in ("0.0.0.0", LOOPBACK):  # noqa: S104 - a bind test, not a server
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return False
                if exc.errno != errno.EADDRNOTAVAIL:
                    raise
    return True


async def http_ok(port: int, path: str, *, within: float) -> bool:
    """True when ``GET path`` on the loopback port answers 2xx or 3xx within ``within`` s."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection(LOOPBACK, port)
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\n"
                "User-Agent: agentdeck-probe\r\nConnection: close\r\n\r\n".encode("latin-1")
            )
            await writer.drain()
            status_line = await reader.readline()
    except (OSError, TimeoutError, UnicodeEncodeError):
        return False
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    parts = status_line.split()
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1][:1] in (b"2", b"3")
