"""Subscriptions: channels, tenancy, coalescing of metrics, slow consumers and resume."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from websockets.exceptions import ConnectionClosed

from agentdeck.agents.models import Agent, AgentType
from agentdeck.identity.roles import Role
from agentdeck.realtime.hub import publish_event
from tests.conftest import Factory
from tests.realtime.conftest import (
    DEADLINE,
    Start,
    authed,
    recv_type,
    send,
    subscribe,
    token_of,
    wait_for,
)


def sample(metric: str, agent: str, value: float) -> dict[str, object]:
    return {"metric": metric, "labels": {"agent": agent}, "value": value, "agent_id": None}


async def test_subscribe_receives_events_and_unsubscribe_stops_them(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    viewer = await factory.user(Role.viewer)
    async with authed(server, token_of(viewer)) as ws:
        for channel in ("alerts", "deployments", "fleet"):  # a viewer reads every channel
            snapshot = await subscribe(ws, channel)
            assert snapshot == {
                "type": "snapshot",
                "channel": channel,
                "seq": 0,
                "data": {"recent": []},
            }
        seq = await publish_event(server.bus, viewer.tenant_id, "alerts", {"id": "a1"})
        event = await recv_type(ws, "event")
        assert (event["channel"], event["seq"], event["data"]) == ("alerts", seq, {"id": "a1"})
        await send(ws, {"type": "unsubscribe", "channel": "alerts"})
        assert await recv_type(ws, "unsubscribed") == {"type": "unsubscribed", "channel": "alerts"}
        await publish_event(server.bus, viewer.tenant_id, "alerts", {"id": "a2"})
        await publish_event(server.bus, viewer.tenant_id, "fleet", {"agent": "x"})
        event = await recv_type(ws, "event")
        assert (event["channel"], event["data"]) == ("fleet", {"agent": "x"})
        # a second subscribe shows what happened meanwhile in its snapshot
        snapshot = await subscribe(ws, "alerts")
        assert snapshot["seq"] == 2
        assert [e["data"]["id"] for e in snapshot["data"]["recent"]] == ["a1", "a2"]


async def test_bad_messages_get_errors_and_the_connection_stays(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    viewer = await factory.user(Role.viewer)
    async with authed(server, token_of(viewer)) as ws:
        cases = [
            ({"type": "subscribe", "channel": "secrets"}, "unknown-channel"),
            ({"type": "subscribe", "channel": "agent:not-a-uuid"}, "unknown-channel"),
            ({"type": "subscribe", "channel": f"agent:{uuid.uuid4()}"}, "not-found"),
            ({"type": "unsubscribe", "channel": "alerts"}, "not-subscribed"),
            ({"type": "resume", "channel": "alerts", "last_seq": -1}, "invalid-message"),
            ({"type": "launch"}, "invalid-message"),
        ]
        messages = []
        for message, code in cases:
            await send(ws, message)
            frame = await recv_type(ws, "error")
            assert frame["code"] == code, (message, frame)
            assert frame["message"]
            messages.append(frame["message"])
        assert "last_seq" in messages[-2]  # located: the field is named
        assert "launch" in messages[-1]
        await ws.send("not json")
        frame = await recv_type(ws, "error")
        assert frame["code"] == "invalid-message"
        assert "json" in frame["message"].lower()
        messages.append(frame["message"])
        for text in messages:  # an error without a location has no empty one in front
            assert not text.startswith(":"), text
        await send(ws, {"type": "ping"})
        assert (await recv_type(ws, "pong"))["type"] == "pong"


async def test_tenant_b_never_receives_tenant_a_events(
    live_server: Start, factory: Factory, session: object
) -> None:
    server = await live_server()
    a = await factory.user(Role.admin)
    b = await factory.user(Role.admin)
    agent = Agent(tenant_id=a.tenant_id, name="a-agent", type=AgentType.custom)
    factory.session.add(agent)
    await factory.session.commit()
    async with authed(server, token_of(a)) as ws_a, authed(server, token_of(b)) as ws_b:
        for ws in (ws_a, ws_b):
            await subscribe(ws, "alerts")
            await subscribe(ws, "metrics", interval=0.05)
        await subscribe(ws_a, f"agent:{agent.id}")
        # B cannot even name A's agent
        await send(ws_b, {"type": "subscribe", "channel": f"agent:{agent.id}"})
        assert (await recv_type(ws_b, "error"))["code"] == "not-found"
        await publish_event(server.bus, a.tenant_id, "alerts", {"secret": "a"})
        await publish_event(server.bus, a.tenant_id, "metrics", {"samples": [sample("m", "x", 1)]})
        await publish_event(server.bus, a.tenant_id, f"agent:{agent.id}", {"status": "up"})
        await publish_event(server.bus, b.tenant_id, "alerts", {"mine": "b"})
        got_a = [await recv_type(ws_a, "event") for _ in range(3)]
        assert sorted(e["channel"] for e in got_a) == sorted(
            ["alerts", "metrics", f"agent:{agent.id}"]
        )
        # B's next event is its own: nothing of A's came before it
        assert (await recv_type(ws_b, "event"))["data"] == {"mine": "b"}
        await send(ws_b, {"type": "ping", "id": "end"})
        assert (await recv_type(ws_b, "event", "pong"))["type"] == "pong"


async def test_metric_events_within_one_interval_become_one_frame_of_latest_values(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    viewer = await factory.user(Role.viewer)

    def samples(i: int) -> dict[str, object]:
        return {
            "samples": [
                sample("tokens", "a", i),
                sample("tokens", "b", 100 + i),
                sample("latency", "a", i / 10),
                sample("ignored", "a", i),
            ]
        }

    async with authed(server, token_of(viewer)) as ws:
        await subscribe(ws, "metrics", interval=1.0, filter={"metric": ["tokens", "latency"]})
        # after a quiet interval the first change goes out at once
        before_first = time.monotonic()
        first = await publish_event(server.bus, viewer.tenant_id, "metrics", samples(0))
        frame = await recv_type(ws, "event")
        assert time.monotonic() - before_first < 1.0  # not held for the interval
        assert frame["seq"] == first
        values = {(s["metric"], s["labels"]["agent"]): s["value"] for s in frame["data"]["samples"]}
        assert values == {("tokens", "a"): 0, ("tokens", "b"): 100, ("latency", "a"): 0}
        # the changes that follow within the interval become one frame of the latest values,
        # sent when the interval since the last frame is over
        last = 0
        for i in range(1, 50):
            last = await publish_event(server.bus, viewer.tenant_id, "metrics", samples(i))
        frame = await recv_type(ws, "event")
        assert time.monotonic() - before_first >= 0.99  # at most one frame per interval
        assert frame["channel"] == "metrics"
        assert frame["seq"] == last
        values = {(s["metric"], s["labels"]["agent"]): s["value"] for s in frame["data"]["samples"]}
        assert values == {("tokens", "a"): 49, ("tokens", "b"): 149, ("latency", "a"): 4.9}
        # the filter by agent, and the snapshot of a new subscriber holds the latest values
    async with authed(server, token_of(viewer)) as ws:
        snapshot = await subscribe(ws, "metrics", filter={"agent": "b"})
        assert [(s["metric"], s["value"]) for s in snapshot["data"]["samples"]] == [("tokens", 149)]


async def test_metric_frames_reach_only_the_subscriptions_whose_filter_takes_them(
    live_server: Start, factory: Factory
) -> None:
    """Subscriptions filtered by agent name, by agent id, by metric, and unfiltered, side by
    side on one tenant's channel: each frame holds exactly the samples its filter takes."""
    server = await live_server()
    viewer = await factory.user(Role.viewer)
    agent_id = str(uuid.uuid4())
    by_name, by_id, by_metric, everything = (
        {"agent": ["a", "nobody"]},
        {"agent": agent_id},
        {"metric": "latency"},
        None,
    )
    with_id = {**sample("tokens", "c", 7), "agent_id": agent_id}
    event = {"samples": [sample("tokens", "a", 1), sample("latency", "b", 2), with_id]}
    expected = {
        "by_name": [("tokens", "a")],
        "by_id": [("tokens", "c")],
        "by_metric": [("latency", "b")],
        "everything": [("tokens", "a"), ("latency", "b"), ("tokens", "c")],
    }
    filters = {"by_name": by_name, "by_id": by_id, "by_metric": by_metric, "everything": everything}
    async with contextlib.AsyncExitStack() as stack:
        sockets = {}
        for name, flt in filters.items():
            ws = await stack.enter_async_context(authed(server, token_of(viewer)))
            await subscribe(ws, "metrics", interval=0.05, filter=flt)
            sockets[name] = ws
        await publish_event(server.bus, viewer.tenant_id, "metrics", event)
        for name, ws in sockets.items():
            frame = await recv_type(ws, "event")
            got = [(s["metric"], s["labels"]["agent"]) for s in frame["data"]["samples"]]
            assert sorted(got) == sorted(expected[name]), name
        # a subscriber that unsubscribes gets nothing more; the others still do
        await send(sockets["by_name"], {"type": "unsubscribe", "channel": "metrics"})
        assert (await recv_type(sockets["by_name"], "unsubscribed"))["channel"] == "metrics"
        await publish_event(
            server.bus, viewer.tenant_id, "metrics", {"samples": [sample("tokens", "a", 3)]}
        )
        frame = await recv_type(sockets["everything"], "event")
        assert [s["value"] for s in frame["data"]["samples"]] == [3]
        await send(sockets["by_name"], {"type": "ping", "id": "end"})
        assert (await recv_type(sockets["by_name"], "event", "pong"))["type"] == "pong"


async def test_a_slow_alert_consumer_is_closed_and_resume_returns_what_it_missed(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server(realtime={"send_queue_size": 4, "replay_buffer": 100})
    viewer = await factory.user(Role.viewer)
    token = token_of(viewer)
    big = "x" * 256 * 1024  # a few of these fill the socket buffers of a client not reading
    total = 60
    async with authed(server, token, max_queue=1, max_size=None) as ws:
        await subscribe(ws, "alerts")
        for i in range(1, total + 1):
            await publish_event(server.bus, viewer.tenant_id, "alerts", {"i": i, "pad": big})
        await wait_for(lambda: server.hub.connection_count() == 0)  # closed by the server
        seen: list[int] = []
        try:
            while True:
                frame = await recv_type(ws, "event")
                seen.append(frame["data"]["i"])
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            assert closed.rcvd.code == 4008
            assert "resume" in closed.rcvd.reason
    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) < total
    async with authed(server, token, max_size=None) as ws:
        await send(ws, {"type": "resume", "channel": "alerts", "last_seq": len(seen)})
        rest = [await recv_type(ws, "event") for _ in range(total - len(seen))]
        assert [f["data"]["i"] for f in rest] == list(range(len(seen) + 1, total + 1))
        assert [f["seq"] for f in rest] == list(range(len(seen) + 1, total + 1))
        assert all(f["data"]["pad"] == big for f in rest)
        # and the subscription is live afterwards
        await publish_event(server.bus, viewer.tenant_id, "alerts", {"i": total + 1})
        assert (await recv_type(ws, "event"))["seq"] == total + 1


async def test_resume_past_the_buffer_says_what_is_gone(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server(realtime={"replay_buffer": 3})
    viewer = await factory.user(Role.viewer)
    for i in range(1, 6):
        await publish_event(server.bus, viewer.tenant_id, "deployments", {"i": i})
    async with authed(server, token_of(viewer)) as ws:
        await send(ws, {"type": "resume", "channel": "deployments", "last_seq": 1})
        error = await recv_type(ws, "error")
        assert error["code"] == "replay-incomplete"
        assert "2..2" in error["message"]
        frames = [await recv_type(ws, "event") for _ in range(3)]
        assert [f["seq"] for f in frames] == [3, 4, 5]


async def test_events_reach_a_waiting_subscriber_in_order(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    viewer = await factory.api_key(Role.viewer)
    async with authed(server, token_of(viewer)) as ws:
        await subscribe(ws, "fleet")
        publisher = asyncio.create_task(
            asyncio.wait_for(
                asyncio.gather(
                    *[
                        publish_event(server.bus, viewer.tenant_id, "fleet", {"i": i})
                        for i in range(20)
                    ]
                ),
                DEADLINE,
            )
        )
        frames = [await recv_type(ws, "event") for _ in range(20)]
        await publisher
        assert [f["seq"] for f in frames] == list(range(1, 21))
