"""agentdeck as several replicas behind nginx, on PostgreSQL, Redis and VictoriaMetrics: what a
user of the scale-out deployment relies on, checked through the balancer and on each replica.

One cluster is shared by the module (three interpreters and their services take a while to
start); each test uses its own users, keys, rules and metric names. The failover test kills a
replica and therefore runs last."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.notify.support import Request, recording_server
from tests.scaleout.cluster import ADMIN_PASSWORD, ADMIN_USER, READ_LIMIT, Cluster, start_cluster

pytestmark = [pytest.mark.postgresql_only, pytest.mark.timeout(300)]
DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield running
    finally:
        running.stop()


def login(url: str, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
    answer = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": username, "password": password}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_key(cluster: Cluster, role: str = "developer") -> tuple[str, str]:
    token = login(cluster.url)
    answer = httpx.post(
        f"{cluster.url}/api/v1/api-keys",
        json={"name": f"k-{uuid.uuid4().hex[:8]}", "role": role},
        headers=bearer(token),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), str(answer.json()["key"])


def wait_until(check, what: str, seconds: float = DEADLINE_S):  # type: ignore[no-untyped-def]
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


def test_a_login_on_one_replica_is_served_by_all(cluster: Cluster) -> None:
    token = login(cluster.replicas[0].url)
    for replica in cluster.replicas:
        me = httpx.get(f"{replica.url}/api/v1/auth/me", headers=bearer(token), timeout=10)
        assert me.status_code == 200, (replica.name, me.text)
        assert me.json()["user"]["username"] == ADMIN_USER
    # and through the balancer, which spreads requests over every replica
    for _ in range(6):
        answer = httpx.get(f"{cluster.url}/api/v1/auth/me", headers=bearer(token), timeout=10)
        assert answer.status_code == 200


def test_every_leased_loop_has_exactly_one_holder(cluster: Cluster) -> None:
    def settled() -> dict[str, list[str]] | None:
        held = leases_held(cluster)
        ok = held and all(len(holders) == 1 for holders in held.values())
        return held if ok else None

    held = wait_until(settled, "one holder per leased loop")
    expected = {
        "alert-evaluator",
        "alert-dispatcher",
        "scraper",
        "retention",
        "logs_retention",
        "autoscaler",
        "fleet",
        "logintel_templates_save",
        "logintel_batches",  # the stream batcher
        "logintel_cleanup",
    }
    assert expected <= set(held), held


async def test_websocket_client_on_one_replica_sees_ingest_on_another(cluster: Cluster) -> None:
    one, two = cluster.replicas[0], cluster.replicas[1]
    _, key = new_key(cluster)
    token = login(one.url)
    async with connect(f"ws://127.0.0.1:{one.port}/api/v1/ws") as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        connected = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE_S))
        assert connected["type"] == "connected", connected
        await ws.send(json.dumps({"type": "subscribe", "channel": "metrics", "interval": 0.05}))
        while json.loads(await asyncio.wait_for(ws.recv(), DEADLINE_S))["type"] != "snapshot":
            pass
        async with httpx.AsyncClient(base_url=two.url, timeout=10) as client:
            answer = await client.post(
                "/api/v1/metrics/batch",
                json={
                    "samples": [
                        {
                            "name": "scaleout_ws_probe",
                            "value": 4.25,
                            "labels": {"agent": "ws-agent"},
                        }
                    ]
                },
                headers={"X-API-Key": key},
            )
            assert answer.status_code in (200, 202), answer.text
        loop = asyncio.get_running_loop()
        end = loop.time() + DEADLINE_S
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE_S))
            if frame["type"] == "event" and any(
                s.get("metric") == "scaleout_ws_probe" and s.get("value") == 4.25
                for s in frame["data"].get("samples", [])
            ):
                break
            assert loop.time() < end, "the sample ingested on replica 2 never reached replica 1"


def test_rate_limits_are_shared_by_the_replicas(cluster: Cluster) -> None:
    _, key = new_key(cluster, role="viewer")
    headers = {"X-API-Key": key}
    statuses = []
    for i in range(READ_LIMIT):
        replica = cluster.replicas[i % len(cluster.replicas)]
        statuses.append(
            httpx.get(f"{replica.url}/api/v1/agents", headers=headers, timeout=10).status_code
        )
    assert statuses == [200] * READ_LIMIT
    for replica in cluster.replicas:
        over = httpx.get(f"{replica.url}/api/v1/agents", headers=headers, timeout=10)
        assert over.status_code == 429, (replica.name, over.status_code)
        assert over.headers["content-type"].startswith("application/problem+json")


def test_a_revoked_key_stops_working_on_every_replica_at_once(cluster: Cluster) -> None:
    key_id, key = new_key(cluster)
    headers = {"X-API-Key": key}
    for replica in cluster.replicas:  # every replica has the key in its principal cache now
        assert (
            httpx.get(f"{replica.url}/api/v1/agents", headers=headers, timeout=10).status_code
            == 200
        )
    admin = login(cluster.replicas[0].url)
    revoked = httpx.delete(
        f"{cluster.replicas[0].url}/api/v1/api-keys/{key_id}", headers=bearer(admin), timeout=10
    )
    assert revoked.status_code == 204

    def refused_everywhere() -> bool:
        return all(
            httpx.get(f"{r.url}/api/v1/agents", headers=headers, timeout=10).status_code == 401
            for r in cluster.replicas
        )

    # invalidation travels over Redis; allow it the time of one message, not a cache TTL
    wait_until(refused_everywhere, "the revoked key refused by every replica", seconds=2.0)


def test_an_alert_fires_once_and_notifies_once(cluster: Cluster) -> None:
    token = login(cluster.url)
    headers = bearer(token)
    _, key = new_key(cluster)
    with recording_server() as recorder:
        channel = httpx.post(
            f"{cluster.url}/api/v1/notification-channels",
            json={
                "name": f"hook-{uuid.uuid4().hex[:6]}",
                "kind": "webhook",
                "config": {"url": recorder.url},
                "send_resolved": False,
            },
            headers=headers,
            timeout=10,
        )
        assert channel.status_code == 201, channel.text
        receiver = httpx.post(
            f"{cluster.url}/api/v1/receivers",
            json={"name": f"ops-{uuid.uuid4().hex[:6]}", "channel_ids": [channel.json()["id"]]},
            headers=headers,
            timeout=10,
        )
        assert receiver.status_code == 201, receiver.text
        policy = httpx.put(
            f"{cluster.url}/api/v1/notification-policy",
            json={
                "receiver_id": receiver.json()["id"],
                "group_wait_seconds": 0,
                "group_interval_seconds": 1,
                "repeat_interval_seconds": 3600,
            },
            headers=headers,
            timeout=10,
        )
        assert policy.status_code == 200, policy.text
        rule = httpx.post(
            f"{cluster.url}/api/v1/alert-rules",
            json={
                "name": "ScaleOutQueueDeep",
                "severity": "critical",
                "interval_seconds": 1,
                "threshold": {
                    "metric_name": "scaleout_queue_depth",
                    "aggregation": "max",
                    "window": "1m",
                    "operator": ">",
                    "threshold": 100,
                },
            },
            headers=headers,
            timeout=10,
        )
        assert rule.status_code == 201, rule.text
        ingest = httpx.post(
            f"{cluster.url}/api/v1/metrics/batch",
            json={
                "samples": [
                    {
                        "name": "scaleout_queue_depth",
                        "value": 250,
                        "labels": {"agent": "queue-worker"},
                    }
                ]
            },
            headers={"X-API-Key": key},
            timeout=10,
        )
        assert ingest.status_code in (200, 202), ingest.text

        def delivered() -> list[Request]:
            return [r for r in recorder.requests if "ScaleOutQueueDeep" in r.body.decode()]

        wait_until(delivered, "the alert's notification")
        # let every replica's evaluator, dispatcher and worker run many more rounds: the
        # dispatcher lease ticks every 0.5 s, so 20 more of its ticks is ample
        ticks = _loop_ticks(cluster, "alert-dispatcher")
        wait_until(
            lambda: _loop_ticks(cluster, "alert-dispatcher") >= ticks + 20,
            "20 more dispatcher ticks",
        )
        assert len(delivered()) == 1, [r.body for r in delivered()]
    answer = httpx.get(
        f"{cluster.url}/api/v1/alerts", params={"status": "active"}, headers=headers, timeout=10
    )
    assert answer.status_code == 200, answer.text
    mine = [a for a in answer.json()["items"] if a["rule_name"] == "ScaleOutQueueDeep"]
    assert len(mine) == 1, mine


def _loop_ticks(cluster: Cluster, loop: str) -> float:
    total = 0.0
    for replica in cluster.replicas:
        if replica.alive():
            text = httpx.get(f"{replica.url}/metrics", timeout=10).text
            for value in re.findall(
                rf'agentdeck_loop_ticks_total\{{[^}}]*loop="{loop}"[^}}]*\}} (\S+)', text
            ):
                total += float(value)
    return total


def test_zz_killing_a_lease_holder_moves_its_loops_within_two_ttls(cluster: Cluster) -> None:
    held = wait_until(
        lambda: (h := leases_held(cluster)) and all(len(v) == 1 for v in h.values()) and h,
        "settled leases",
    )
    loop = "alert-evaluator" if "alert-evaluator" in held else sorted(held)[0]
    (holder_name,) = held[loop]
    holder = next(r for r in cluster.replicas if r.name == holder_name)
    moved_loops = [name for name, holders in held.items() if holders == [holder_name]]
    cluster.kill(holder)
    killed_at = time.monotonic()
    ttl = 3 * 0.5  # three evaluator ticks (tests/scaleout/cluster.py LOOP_ENV)
    # another replica takes the evaluator's lease within two TTLs (plus one tick to notice)
    wait_until(
        lambda: len(leases_held(cluster).get(loop, [])) == 1,
        f"a new holder of {loop}",
        seconds=DEADLINE_S,
    )
    took = time.monotonic() - killed_at
    assert took <= 2 * ttl + 1.0, f"{loop} moved after {took:.1f} s"

    # every loop the dead replica held has exactly one new holder
    def all_moved() -> bool:
        now = leases_held(cluster)
        return all(len(now.get(name, [])) == 1 for name in moved_loops)

    wait_until(all_moved, "every loop of the killed replica moved")
    # nginx stops sending to the dead replica: the balancer keeps answering
    token = login(cluster.url)
    for _ in range(6):
        answer = httpx.get(f"{cluster.url}/api/v1/auth/me", headers=bearer(token), timeout=10)
        assert answer.status_code == 200
    assert Path(holder.log).exists()
