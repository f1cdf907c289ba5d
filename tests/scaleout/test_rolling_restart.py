"""A rolling restart of three replicas behind nginx under steady load: each replica in turn gets
SIGTERM (what systemd, Kubernetes and compose send), exits cleanly, is started again and waits
until ready, while a client keeps ingesting through the balancer and WebSocket clients stay
connected. What a user relies on: every sample acknowledged with a 2xx is stored, alerts that
fire before and during the restarts are notified once each, and WebSocket clients reconnect,
resume the alerts channel without a gap and see live samples again.

Its own cluster (the one of test_cluster.py ends with a replica killed)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass, field

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.notify.support import Request, recording_server
from tests.scaleout.cluster import Cluster
from tests.scaleout.support import (
    authenticate,
    bearer,
    follow_metrics,
    login,
    loop_ticks,
    new_key,
    route_alerts_to,
    sample_values,
    threshold_rule,
    wait_until,
)

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.timeout(900),
]  # a loaded machine starts replicas slowly
#: A replica has this long to stop on SIGTERM (notification sends get 5 s of it).
STOP_WITHIN_S = 30.0
WS_CLIENTS = 3
SEQ_METRIC = "rolling_seq"


@dataclass
class Ingest:
    """The load: one sample per sequence number, sent through the balancer; what was sent
    again after a failure keeps its number and timestamp (a client retrying its batch)."""

    key: str
    url: str
    base_ms: int = field(default_factory=lambda: int(time.time() * 1000) - 60_000)
    next_seq: int = 0
    acked: set[int] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    alerting: dict[str, float] = field(default_factory=dict)  # metric -> value, sent each batch

    async def run(self, stop: asyncio.Event) -> None:
        pending: list[int] = []
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            while not stop.is_set():
                if not pending:
                    pending = list(range(self.next_seq, self.next_seq + 10))
                    self.next_seq += 10
                samples = [
                    {
                        "name": SEQ_METRIC,
                        "value": seq,
                        "timestamp": self.base_ms + seq,
                        "labels": {"agent": "roller", "lane": str(seq % 4)},
                    }
                    for seq in pending
                ]
                samples += [
                    {"name": name, "value": value, "labels": {"agent": "roller"}}
                    for name, value in self.alerting.items()
                ]
                try:
                    answer = await client.post(
                        "/api/v1/metrics/batch",
                        json={"samples": samples},
                        headers={"X-API-Key": self.key},
                    )
                except httpx.TransportError as exc:
                    self.failures.append(type(exc).__name__)
                else:
                    if answer.is_success:
                        assert answer.json()["rejected"] == 0, answer.text
                        self.acked.update(pending)
                        pending = []
                    else:
                        self.failures.append(str(answer.status_code))
                        # a refusal is a problem document that says when to come back
                        if answer.status_code == 503:
                            assert answer.headers["content-type"].startswith(
                                "application/problem+json"
                            ), answer.text
                # a steady ~20 batches per second (200 samples/s), not a flood
                await asyncio.sleep(0.05)


@dataclass
class WatchClient:
    """A WebSocket client through the balancer: subscribes to `metrics` and `alerts`,
    reconnects when its replica goes away and resumes `alerts` from the last seq it saw."""

    port: int
    token: str
    connections: int = 0
    alert_seqs: list[int] = field(default_factory=list)
    alert_events: list[dict[str, object]] = field(default_factory=list)
    seqs_seen: list[tuple[int, float]] = field(default_factory=list)  # (connection, seq value)
    errors: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with connect(f"ws://127.0.0.1:{self.port}/api/v1/ws") as ws:
                    await authenticate(ws, self.token)
                    self.connections += 1
                    if self.alert_seqs:
                        resume = {"channel": "alerts", "last_seq": self.alert_seqs[-1]}
                        await ws.send(json.dumps({"type": "resume", **resume}))
                    else:
                        await ws.send(json.dumps({"type": "subscribe", "channel": "alerts"}))
                    await follow_metrics(ws, 0.1)
                    await self._read(ws, stop)
            except (ConnectionClosed, InvalidStatus, OSError, TimeoutError) as exc:
                self.errors.append(type(exc).__name__)
            if not stop.is_set():
                await asyncio.sleep(0.2)  # a client's reconnect backoff

    async def _read(self, ws, stop: asyncio.Event) -> None:  # type: ignore[no-untyped-def]
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            frame = json.loads(raw)
            if frame["type"] == "error":
                self.errors.append(f"error frame {frame}")
            if frame["type"] != "event":
                continue
            if frame["channel"] == "alerts":
                self.alert_seqs.append(int(frame["seq"]))
                self.alert_events.append(frame["data"])
            else:
                self.seqs_seen += [(self.connections, v) for v in sample_values(frame, SEQ_METRIC)]


def _notify_setup(cluster: Cluster, headers: dict[str, str], url: str) -> None:
    # one group per rule: each alert's notification is its own (with one group, the second
    # alert's notification lists the first again, as Alertmanager's do)
    route_alerts_to(cluster, headers, url, group_by=["alertname"])
    for name in ("RollingBefore", "RollingDuring"):
        threshold_rule(cluster, headers, name, f"rolling_{name.lower()}")


def _stored_seqs(cluster: Cluster, headers: dict[str, str]) -> set[int]:
    """The sequence numbers stored, read back through the raw-sample API."""
    seqs: set[int] = set()
    params: dict[str, object] = {"name": SEQ_METRIC, "limit": 500}
    while True:
        answer = httpx.get(
            f"{cluster.url}/api/v1/metrics", params=params, headers=headers, timeout=30
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seqs.update(int(item["value"]) for item in page["items"])
        if not page.get("next_cursor"):
            return seqs
        params["cursor"] = page["next_cursor"]


async def test_a_rolling_restart_under_load_loses_nothing(cluster: Cluster) -> None:
    began = time.monotonic()
    phases: dict[str, float] = {}
    token = login(cluster.url)
    headers = bearer(token)
    _, key = new_key(cluster)
    with recording_server() as recorder:
        _notify_setup(cluster, headers, recorder.url)
        ingest = Ingest(key=key, url=cluster.url)
        watchers = [WatchClient(cluster.nginx_port, token) for _ in range(WS_CLIENTS)]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(ingest.run(stop))]
        tasks += [asyncio.create_task(w.run(stop)) for w in watchers]

        def notified(rule: str) -> list[Request]:
            return [r for r in recorder.requests if rule in r.body.decode()]

        try:
            await asyncio.to_thread(
                wait_until, lambda: all(w.connections for w in watchers), "WebSocket clients"
            )
            # an alert that fires before the restarts (its notification state must survive them)
            ingest.alerting["rolling_rollingbefore"] = 250.0
            await asyncio.to_thread(wait_until, lambda: notified("RollingBefore"), "RollingBefore")
            phases["ready"] = time.monotonic() - began
            stop_times = []
            for number, replica in enumerate(cluster.replicas):
                started = time.monotonic()
                code = await asyncio.to_thread(cluster.terminate, replica, STOP_WITHIN_S)
                stop_times.append(time.monotonic() - started)
                # uvicorn re-raises the signal once its graceful shutdown is done
                assert code in (0, -signal.SIGTERM), (replica.name, code, replica.log.read_text())
                if number == 1:  # an alert that starts while a replica is down
                    ingest.alerting["rolling_rollingduring"] = 300.0
                await asyncio.to_thread(cluster.restart, replica)
            phases["restarts"] = time.monotonic() - began
            restarted_at_seq = ingest.next_seq
            acked_at_end = len(ingest.acked)

            # after the restarts: samples flow, and every watcher sees new ones live
            def caught_up() -> bool:
                return all(
                    any(value >= restarted_at_seq for _, value in w.seqs_seen) for w in watchers
                )

            await asyncio.to_thread(wait_until, caught_up, "live samples after the restarts")
            await asyncio.to_thread(wait_until, lambda: notified("RollingDuring"), "RollingDuring")
            assert len(ingest.acked) > acked_at_end
        finally:
            stop.set()
            await asyncio.gather(*tasks)

        # every replica ran its dispatcher again: 20 more ticks, and still one notification each
        ticks = loop_ticks(cluster, "alert-dispatcher")
        await asyncio.to_thread(
            wait_until,
            lambda: loop_ticks(cluster, "alert-dispatcher") >= ticks + 20,
            "dispatcher ticks",
        )
        assert len(notified("RollingBefore")) == 1, [r.body for r in notified("RollingBefore")]
        assert len(notified("RollingDuring")) == 1, [r.body for r in notified("RollingDuring")]

    phases["end"] = time.monotonic() - began
    print(  # noqa: T201  # the measured figures for docs/operations.md (pytest -s)
        f"rolling restart: {phases}, stops {stop_times}, acked {len(ingest.acked)}, "
        f"failed {ingest.failures}, ws {[w.connections for w in watchers]}"
    )
    assert max(stop_times) < STOP_WITHIN_S, stop_times
    # no acknowledged sample lost
    stored = _stored_seqs(cluster, headers)
    missing = sorted(ingest.acked - stored)
    assert not missing, f"{len(missing)} acknowledged samples missing, e.g. {missing[:10]}"
    assert len(ingest.acked) >= 500, len(ingest.acked)
    # WebSocket clients: each was moved by a restart, came back, and resumed `alerts` in order
    for watcher in watchers:
        assert watcher.connections >= 2, watcher
        assert not [e for e in watcher.errors if e.startswith("error frame")], watcher.errors
        seqs = watcher.alert_seqs
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs  # no gap, no repeat
        fired = {str(e.get("rule_name")) for e in watcher.alert_events}
        assert {"RollingBefore", "RollingDuring"} <= fired, watcher.alert_events
