"""agentdeck as several replicas behind nginx, on PostgreSQL, Redis and VictoriaMetrics: what a
user of the scale-out deployment relies on, checked through the balancer and on each replica.

One cluster is shared by the module (three interpreters and their services take a while to
start); each test uses its own users, keys, rules and metric names. The failover test kills a
replica and therefore runs last."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.notify.support import Request, recording_server
from tests.scaleout.cluster import ADMIN_USER, READ_LIMIT, Cluster
from tests.scaleout.support import (
    DEADLINE_S,
    authenticate,
    bearer,
    follow_metrics,
    leases_held,
    login,
    loop_ticks,
    new_key,
    route_alerts_to,
    sample_values,
    threshold_rule,
    wait_until,
)

pytestmark = [pytest.mark.postgresql_only, pytest.mark.timeout(300)]


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
        await authenticate(ws, token)
        await follow_metrics(ws, 0.05)
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
            if 4.25 in sample_values(frame, "scaleout_ws_probe"):
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
        route_alerts_to(cluster, headers, recorder.url)
        threshold_rule(cluster, headers, "ScaleOutQueueDeep", "scaleout_queue_depth")
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
        ticks = loop_ticks(cluster, "alert-dispatcher")
        wait_until(
            lambda: loop_ticks(cluster, "alert-dispatcher") >= ticks + 20,
            "20 more dispatcher ticks",
        )
        assert len(delivered()) == 1, [r.body for r in delivered()]
    answer = httpx.get(
        f"{cluster.url}/api/v1/alerts", params={"status": "active"}, headers=headers, timeout=10
    )
    assert answer.status_code == 200, answer.text
    mine = [a for a in answer.json()["items"] if a["rule_name"] == "ScaleOutQueueDeep"]
    assert len(mine) == 1, mine


#: Client connections held open beside the batches: more than nginx's built-in 512
#: worker_connections, as the soak's 200 WebSocket clients and 64 pooled requests take
#: (two each: the client's and the one to a replica).
HELD_CONNECTIONS = 600


def _log_batch(lines: int, message_bytes: int) -> bytes:
    entries = [
        {
            "severity": "info",
            "service": "nginx-probe",
            "agent": f"agent-{i % 50:02d}",
            "message": f"line {i} " + "x" * message_bytes,
        }
        for i in range(lines)
    ]
    return json.dumps({"entries": entries}).encode()


async def test_large_log_batches_pass_through_nginx_beside_many_connections(
    cluster: Cluster,
) -> None:
    """The soak's nginx 500s on log batches: a batch past client_body_buffer_size goes to a
    temporary file, which nginx's unprivileged worker could not create (in the test's private
    directory); and the soak's connections were past nginx's built-in 512. Batches below and
    above the buffer, beside more open connections than that, must all be stored."""
    _, key = new_key(cluster)
    held = [
        await asyncio.open_connection("127.0.0.1", cluster.nginx_port)
        for _ in range(HELD_CONNECTIONS)
    ]
    try:
        async with httpx.AsyncClient(
            base_url=cluster.url,
            headers={"X-API-Key": key, "Content-Type": "application/json"},
            timeout=30,
        ) as client:
            # ~150 KB (in memory), ~1.6 MB and ~6 MB (both through a temporary file)
            for lines, message_bytes in ((1_000, 100), (2_000, 750), (3_000, 2_000)):
                body = _log_batch(lines, message_bytes)
                answer = await client.post("/api/v1/logs/batch", content=body)
                assert answer.status_code == 200, (len(body), answer.status_code, answer.text)
                assert answer.json()["accepted"] == lines, answer.text
    finally:
        for _, writer in held:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for _, w in held), return_exceptions=True)
    errors = (cluster.home / "nginx-error.log").read_text()
    # nginx copes with idle connections past its limit by closing some (a warning); busy
    # ones (WebSocket clients, requests in flight) it would refuse
    assert "Permission denied" not in errors, errors[-2000:]
    assert "worker_connections are not enough" not in errors, errors[-2000:]


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
