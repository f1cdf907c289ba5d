"""Health-URL probes, through the outbound policy.

An agent's ``config.health_url`` is set by its developers, and the server fetches it: without
a limit that would let them make the server probe internal services (SSRF). A probe goes
through the outbound policy (``agentdeck.outbound``) with ``realtime.health_probe_allow``
added to its allow list (by default loopback and the private networks, where a self-hosted
fleet's agents answer): every address the host resolves to must be allowed, the connection
goes to a checked address (so a second DNS answer cannot swap it), and no redirect is followed.
Metadata, link-local and reserved addresses and ``outbound.deny`` stay refused.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from agentdeck.outbound import OutboundPolicy, OutboundRefused, describe, http_client
from agentdeck.overview.schemas import HealthStatus
from agentdeck.settings import DEFAULT_PROBE_ALLOW, OutboundSettings, RealtimeSettings

__all__ = ["DEFAULT_PROBE_ALLOW", "Check", "client", "policy_of", "probe"]


@dataclass
class Check:
    status: HealthStatus
    response_time_ms: float | None
    error: str | None


def policy_of(outbound: OutboundSettings | None, realtime: RealtimeSettings) -> OutboundPolicy:
    """The outbound policy with the health-probe allow list added."""
    base = OutboundPolicy.from_settings(outbound) if outbound is not None else OutboundPolicy()
    return base.extended(realtime.health_probe_allow)


def client(policy: OutboundPolicy, timeout: float) -> httpx.AsyncClient:
    """A client for one round of probes (no redirects)."""
    return http_client(policy, follow_redirects=False, timeout=timeout)


async def probe(client: httpx.AsyncClient, url: str, limit: float) -> Check:
    """GET the health URL through the policy: 2xx healthy, other answers unhealthy, refusals
    and failures error, no answer within ``limit`` seconds timeout. Errors are categories
    (viewers read them), never the answer's body."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Check(HealthStatus.error, None, "only http and https URLs with a host are probed")
    started = time.perf_counter()
    try:
        async with asyncio.timeout(limit):
            response = await client.get(url)
    except OutboundRefused as exc:
        return Check(HealthStatus.error, None, exc.summary)
    except (TimeoutError, httpx.TimeoutException):
        return Check(HealthStatus.timeout, None, f"no answer within {limit:g} s")
    except Exception as exc:  # refused, reset, bad URL…: only this entry is marked
        return Check(HealthStatus.error, None, describe(exc).summary)
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    if 200 <= response.status_code < 300:
        return Check(HealthStatus.healthy, elapsed, None)
    return Check(
        HealthStatus.unhealthy, elapsed, f"health check answered HTTP {response.status_code}"
    )
