"""Pacing of metric frames: a token bucket per subscription (one token per interval, up to
``realtime.metrics_burst``). Frames go at once while tokens last, so jittery reports are not
held back; a flood is coalesced into the latest value per series. Timing runs on an injected
clock: nothing here waits for an interval to pass."""

from __future__ import annotations

from agentdeck.identity.roles import Role
from agentdeck.realtime.hub import publish_event
from agentdeck.tokenbucket import TokenBucket
from tests.conftest import Factory
from tests.realtime.conftest import Start, authed, recv_type, subscribe, token_of, wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def sample(agent: str, value: float) -> dict[str, object]:
    return {"metric": "m", "labels": {"agent": agent}, "value": value, "agent_id": None}


def values(frame: dict[str, object]) -> dict[str, float]:
    data = frame["data"]
    assert isinstance(data, dict)
    return {s["labels"]["agent"]: s["value"] for s in data["samples"]}


async def test_frames_go_at_once_while_tokens_last_then_a_flood_is_coalesced(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server(realtime={"metrics_burst": 2})
    clock = Clock()
    server.hub.clock = clock
    viewer = await factory.user(Role.viewer)
    tenant = viewer.tenant_id
    async with authed(server, token_of(viewer)) as ws:
        # interval 30 s: a frame held for want of a token would not come within the deadline
        await subscribe(ws, "metrics", interval=30, filter={"metric": "m"})
        clock.now += 30  # a quiet interval after the snapshot: the bucket is full (2 tokens)
        first = await publish_event(server.bus, tenant, "metrics", {"samples": [sample("a", 1)]})
        second = await publish_event(server.bus, tenant, "metrics", {"samples": [sample("a", 2)]})
        frames = [await recv_type(ws, "event") for _ in range(2)]
        # back to back, each on its own: neither waited, nothing was coalesced
        assert [(f["seq"], values(f)) for f in frames] == [(first, {"a": 1}), (second, {"a": 2})]

        # the bucket is empty: what follows is held and coalesced, latest value per series
        await publish_event(
            server.bus, tenant, "metrics", {"samples": [sample("a", 3), sample("b", 30)]}
        )
        held = await publish_event(server.bus, tenant, "metrics", {"samples": [sample("a", 4)]})
        channel = f"tenant:{tenant}:metrics"
        await wait_for(lambda: server.hub._last_seq.get(channel) == held)  # the hub has them
        clock.now += 30  # one token accrued: the next change sends everything held
        last = await publish_event(server.bus, tenant, "metrics", {"samples": [sample("a", 5)]})
        frame = await recv_type(ws, "event")
        assert frame["seq"] == last
        assert values(frame) == {"a": 5, "b": 30}


def test_reports_once_per_interval_with_jitter_are_never_held_back() -> None:
    """One report per interval, each late by up to 90 % of an interval in any order: the old
    "one frame per interval since the last" throttle delayed every report that came less than
    an interval after its predecessor; the bucket sends each at once."""
    bucket = TokenBucket.after_snapshot(interval=1.0, burst=2, now=0.0)
    late = [0.9, 0.0, 0.5, 0.0, 0.9, 0.1, 0.85, 0.0, 0.3, 0.9, 0.0]
    waits = [bucket.take(1.0 + k + d) for k, d in enumerate(late)]
    assert waits == [0.0] * len(late)


def test_a_flood_spends_the_burst_then_waits_one_interval_per_frame() -> None:
    bucket = TokenBucket.after_snapshot(interval=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 2.0]  # the snapshot spent one
    assert bucket.take(1.0) == 1.0  # half a token accrued
    assert bucket.take(2.0) == 0.0
    assert bucket.take(2.0) == 2.0
    # a long quiet spell saves up no more than the burst
    assert [bucket.take(1000.0) for _ in range(4)] == [0.0, 0.0, 0.0, 2.0]
