"""Start, scale, restart and stop a custom agent through the API, with real processes."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.audit.models import AuditEntry
from tests.conftest import Caller
from tests.fleet.helpers import (
    AGENTS,
    act,
    agent,
    assert_problem,
    create_agent,
    eventually,
    pid_alive,
    replicas,
    wait_gone,
    wait_status,
)


async def test_start_runs_ready_replicas_and_stop_ends_them(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"], replicas=2)
    assert created["health"] == {
        "status": "stopped",
        "healthy": False,
        "replicas": {"desired": 0, "ready": 0},
        "detail": None,
    }
    started = await act(fleet_client, dev, created["id"], "start")
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "deploying"
    assert started.headers["ETag"] == f'"{started.json()["revision"]}"'

    running = await wait_status(fleet_client, dev, created["id"], "running", ready=2)
    assert running["health"]["healthy"] is True
    assert running["health"]["replicas"] == {"desired": 2, "ready": 2}

    rows = await eventually(
        lambda: replicas(fleet_client, dev, created["id"]),
        lambda rows: len(rows) == 2 and all(r["ready"] for r in rows),
    )
    ports = {r["port"] for r in rows}
    assert len(ports) == 2 and None not in ports
    async with httpx.AsyncClient(timeout=5) as direct:
        for row in rows:
            assert row["health"] == "healthy" and row["phase"] == "ready"
            assert pid_alive(row["pid"]) and row["restarts"] == 0 and row["last_exit"] is None
            # each replica answers on the port it was given in PORT
            served = await direct.get(f"http://127.0.0.1:{row['port']}/")
            assert served.text == "1.0.0"

    stopped = await act(fleet_client, dev, created["id"], "stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert stopped.json()["health"]["replicas"]["desired"] == 0
    await wait_gone([r["pid"] for r in rows])
    await eventually(lambda: replicas(fleet_client, dev, created["id"]), lambda rows: rows == [])
    final = await wait_status(fleet_client, dev, created["id"], "stopped", ready=0)
    assert final["health"]["healthy"] is False


async def test_the_replicas_output_is_kept_and_handed_to_sinks(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    driver = fleet_client.app.state.deck.fleet.driver  # type: ignore[attr-defined]
    received = []
    driver.add_line_sink(received.extend)
    created = await create_agent(fleet_client, dev, programs["server"], name="talker")
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)

    async def output() -> list[dict[str, str]]:
        response = await fleet_client.get(f"{AGENTS}/{created['id']}/output", headers=dev.headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, str]] = response.json()["items"]
        return items

    lines = await eventually(output, lambda items: len(items) >= 2)
    streams = {(line["stream"], line["line"].split(" ")[0]) for line in lines}
    assert ("stdout", "hello") in streams and ("stderr", "warming") in streams
    await eventually(lambda: _count(received), lambda n: n >= 2)
    labels = {tuple(sorted(line.labels.items())) for line in received}
    assert {dict(label)["stream"] for label in labels} == {"stdout", "stderr"}
    assert all(dict(label)["agent"] == "talker" for label in labels)
    assert all(dict(label)["replica"].startswith("talker-") for label in labels)


async def _count(items: list[object]) -> int:
    return len(items)


async def test_scale_up_and_down_and_to_zero(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"])
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)

    scaled = await act(fleet_client, dev, created["id"], "scale", replicas=3)
    assert scaled.status_code == 200, scaled.text
    assert scaled.json()["status"] == "scaling"
    assert scaled.json()["replica_count"] == 3
    await wait_status(fleet_client, dev, created["id"], "running", ready=3)

    down = await act(fleet_client, dev, created["id"], "scale", replicas=1)
    assert down.json()["status"] == "scaling"
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)
    await eventually(
        lambda: replicas(fleet_client, dev, created["id"]), lambda rows: len(rows) == 1
    )

    zero = await act(fleet_client, dev, created["id"], "scale", replicas=0)
    assert zero.json()["status"] == "stopped" and zero.json()["replica_count"] == 0
    await wait_status(fleet_client, dev, created["id"], "stopped", ready=0)

    # scaling a stopped agent starts it with that many
    again = await act(fleet_client, dev, created["id"], "scale", replicas=2)
    assert again.json()["status"] == "deploying"
    await wait_status(fleet_client, dev, created["id"], "running", ready=2)


async def test_scale_outside_0_to_20_is_refused_naming_the_field(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"])
    for bad in (21, -1, 100, "three", 2.5, True):
        response = await act(fleet_client, dev, created["id"], "scale", replicas=bad)
        problem = assert_problem(response, 422, "validation-error")
        errors = problem["errors"]
        assert errors[0]["loc"] == ["body", "replicas"], errors
        assert errors[0]["message"] == "Replica count must be between 0 and 20"
    assert (await agent(fleet_client, dev, created["id"]))["replica_count"] == 1


async def test_restart_replaces_every_replica_and_picks_up_config_changes(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"], replicas=2)
    not_running = await act(fleet_client, dev, created["id"], "restart")
    assert_problem(not_running, 409, "agent-not-running")
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=2)
    before = {r["pid"] for r in await replicas(fleet_client, dev, created["id"])}

    config = dict(created["config"], env={"GREETING": "hi"})
    patched = await fleet_client.patch(
        f"{AGENTS}/{created['id']}", json={"config": config}, headers=dev.headers
    )
    assert patched.status_code == 200
    restarted = await act(fleet_client, dev, created["id"], "restart")
    assert restarted.status_code == 200 and restarted.json()["status"] == "deploying"
    rows = await eventually(
        lambda: replicas(fleet_client, dev, created["id"]),
        lambda rows: (
            len(rows) == 2
            and all(r["ready"] for r in rows)
            and not ({r["pid"] for r in rows} & before)
        ),
    )
    assert len({r["spec_hash"] for r in rows}) == 1
    await wait_gone(list(before))
    await wait_status(fleet_client, dev, created["id"], "running", ready=2)


async def test_delete_stops_a_running_agent_first(
    fleet_client: httpx.AsyncClient,
    dev: Caller,
    programs: dict[str, Path],
    session: AsyncSession,
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"], replicas=2)
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=2)
    pids = [r["pid"] for r in await replicas(fleet_client, dev, created["id"])]

    deleted = await fleet_client.delete(f"{AGENTS}/{created['id']}", headers=dev.headers)
    assert deleted.status_code == 204
    assert not [p for p in pids if pid_alive(p)]  # gone by the time the answer came
    await session.commit()
    actions = list(
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.resource_id == created["id"])
            .order_by(AuditEntry.at)
        )
    )
    assert actions[-2:] == ["agent.stop", "agent.delete"], actions


async def test_status_changes_are_audited_and_published(
    fleet_client: httpx.AsyncClient,
    dev: Caller,
    programs: dict[str, Path],
    session: AsyncSession,
) -> None:
    bus = fleet_client.app.state.deck.bus  # type: ignore[attr-defined]
    created = await create_agent(fleet_client, dev, programs["server"])
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)
    await act(fleet_client, dev, created["id"], "stop")

    async def fleet_events() -> list[dict[str, object]]:
        events = await bus.replay(f"tenant:{dev.tenant_id}:fleet", 0)
        return [e.data for e in events if e.data.get("agent_id") == created["id"]]

    published = await eventually(
        fleet_events, lambda events: [e["action"] for e in events][-1:] == ["stop"]
    )
    statuses = [(e["action"], e["status"]) for e in published]
    assert ("start", "deploying") in statuses and ("status", "running") in statuses
    running = next(e for e in published if e["status"] == "running")
    assert running["health"] == {
        "status": "running",
        "healthy": True,
        "replicas": {"desired": 1, "ready": 1},
        "detail": None,
    }
    await session.commit()
    entries = list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.resource_id == created["id"])
            .order_by(AuditEntry.at)
        )
    )
    by_action = {(e.action, e.actor_type) for e in entries}
    assert ("agent.start", "user") in by_action and ("agent.stop", "user") in by_action
    assert ("agent.status", "system") in by_action


async def test_a_built_in_template_agent_runs_without_a_command(
    fleet_client: httpx.AsyncClient, dev: Caller
) -> None:
    response = await fleet_client.post(
        AGENTS, json={"name": "helper", "type": "llm"}, headers=dev.headers
    )
    assert response.status_code == 201, response.text
    ident = response.json()["id"]
    assert (await act(fleet_client, dev, ident, "start")).status_code == 200
    await wait_status(fleet_client, dev, ident, "running", ready=1, deadline=60)
    [row] = await replicas(fleet_client, dev, ident)
    async with httpx.AsyncClient(timeout=5) as direct:
        health = await direct.get(f"http://127.0.0.1:{row['port']}/healthz")
    assert health.status_code == 200
