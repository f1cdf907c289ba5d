"""What the scale-out tests do as a client of the cluster: log in, make keys, wire an alert to a
webhook, follow the WebSocket hub, read the replicas' own metrics, wait for an outcome."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import ClientConnection

from tests.scaleout.cluster import ADMIN_PASSWORD, ADMIN_USER, Cluster

DEADLINE_S = 60.0
T = TypeVar("T")


def login(url: str, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    answer = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_key(cluster: Cluster, role: str = "developer") -> tuple[str, str]:
    """A new API key (its id and its secret), made by the admin through the balancer."""
    token = login(cluster.url)
    answer = httpx.post(
        f"{cluster.url}/api/v1/api-keys",
        json={"name": f"k-{uuid.uuid4().hex[:8]}", "role": role},
        headers=bearer(token),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), str(answer.json()["key"])


def wait_until(check: Callable[[], T], what: str, seconds: float = DEADLINE_S) -> T:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.05)  # polling an observable outcome against a deadline


def leases_held(cluster: Cluster) -> dict[str, list[str]]:
    """Loop name -> the replicas whose /metrics say they hold its lease."""
    held: dict[str, list[str]] = {}
    for replica in cluster.replicas:
        if not replica.alive():
            continue
        text = httpx.get(f"{replica.url}/metrics", timeout=10).text
        for loop, value in re.findall(r'agentdeck_loop_lease_held\{loop="([^"]+)"\} (\S+)', text):
            held.setdefault(loop, [])
            if float(value) == 1.0:
                held[loop].append(replica.name)
    return held


def loop_ticks(cluster: Cluster, loop: str) -> float:
    """Ticks of ``loop`` summed over the live replicas."""
    total = 0.0
    for replica in cluster.replicas:
        if replica.alive():
            text = httpx.get(f"{replica.url}/metrics", timeout=10).text
            for value in re.findall(
                rf'agentdeck_loop_ticks_total\{{[^}}]*loop="{loop}"[^}}]*\}} (\S+)', text
            ):
                total += float(value)
    return total


def _created(answer: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def route_alerts_to(
    cluster: Cluster, headers: dict[str, str], url: str, *, group_by: list[str] | None = None
) -> None:
    """Every alert notified at once (no group wait) to a webhook at ``url``: a channel, a
    receiver and the tenant's notification policy."""
    name = uuid.uuid4().hex[:6]
    channel = _created(
        httpx.post(
            f"{cluster.url}/api/v1/notification-channels",
            json={
                "name": f"hook-{name}",
                "kind": "webhook",
                "config": {"url": url},
                "send_resolved": False,
            },
            headers=headers,
            timeout=10,
        )
    )
    receiver = _created(
        httpx.post(
            f"{cluster.url}/api/v1/receivers",
            json={"name": f"ops-{name}", "channel_ids": [channel["id"]]},
            headers=headers,
            timeout=10,
        )
    )
    policy: dict[str, Any] = {
        "receiver_id": receiver["id"],
        "group_wait_seconds": 0,
        "group_interval_seconds": 1,
        "repeat_interval_seconds": 3600,
    }
    if group_by is not None:
        policy["group_by"] = group_by
    _created(
        httpx.put(
            f"{cluster.url}/api/v1/notification-policy", json=policy, headers=headers, timeout=10
        ),
        200,
    )


def threshold_rule(cluster: Cluster, headers: dict[str, str], name: str, metric: str) -> None:
    """A critical rule, evaluated every second, firing while ``max(metric)`` over 1 m > 100."""
    _created(
        httpx.post(
            f"{cluster.url}/api/v1/alert-rules",
            json={
                "name": name,
                "severity": "critical",
                "interval_seconds": 1,
                "threshold": {
                    "metric_name": metric,
                    "aggregation": "max",
                    "window": "1m",
                    "operator": ">",
                    "threshold": 100,
                },
            },
            headers=headers,
            timeout=10,
        )
    )


async def authenticate(ws: ClientConnection, token: str) -> None:
    """The hub's first exchange: ``auth``, answered by ``connected``."""
    await ws.send(json.dumps({"type": "auth", "token": token}))
    hello = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE_S))
    assert hello["type"] == "connected", hello


async def follow_metrics(ws: ClientConnection, interval: float) -> None:
    """Subscribe to every agent's live samples, one frame per ``interval`` at most."""
    await ws.send(json.dumps({"type": "subscribe", "channel": "metrics", "interval": interval}))


def sample_values(frame: dict[str, Any], metric: str) -> list[float]:
    """The values of ``metric`` in a ``metrics`` event frame (none in any other frame)."""
    if frame.get("type") != "event" or frame.get("channel") != "metrics":
        return []
    return [
        float(s["value"]) for s in frame["data"].get("samples", []) if s.get("metric") == metric
    ]
