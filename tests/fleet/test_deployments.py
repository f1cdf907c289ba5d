"""Deployments through the API: rolling and recreate order, automatic and manual rollback,
one at a time, diffs and history."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory
from tests.fleet.helpers import (
    AGENTS,
    act,
    agent,
    assert_problem,
    create_agent,
    eventually,
    replicas,
    wait_status,
)

DEPLOYMENTS = "/api/v1/deployments"


async def deploy(
    client: httpx.AsyncClient, caller: Caller, agent_id: str, version: str, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"{AGENTS}/{agent_id}/deployments",
        json={"version": version, **fields},
        headers=caller.headers,
    )


async def deployment(client: httpx.AsyncClient, caller: Caller, ident: str) -> dict[str, Any]:
    response = await client.get(f"{DEPLOYMENTS}/{ident}", headers=caller.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def finished(
    client: httpx.AsyncClient, caller: Caller, ident: str, status: str, deadline: float = 40
) -> dict[str, Any]:
    return await eventually(
        lambda: deployment(client, caller, ident),
        lambda d: d["status"] not in ("pending", "in_progress"),
        deadline=deadline,
        what=f"deployment {status}",
    )


async def running_agent(
    client: httpx.AsyncClient, caller: Caller, program: Path, replicas: int
) -> dict[str, Any]:
    created = await create_agent(client, caller, program, replicas=replicas)
    await act(client, caller, created["id"], "start")
    await wait_status(client, caller, created["id"], "running", ready=replicas)
    return created


async def test_a_rolling_deployment_brings_each_new_replica_up_before_an_old_one_stops(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await running_agent(fleet_client, dev, programs["server"], 3)
    old = {r["spec_hash"] for r in await replicas(fleet_client, dev, created["id"])}
    response = await deploy(
        fleet_client,
        dev,
        created["id"],
        "2.0.0",
        spec={"env": {"FEATURE": "on"}},
        commit_sha="abc1234",
        description="turn the feature on",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{DEPLOYMENTS}/{body['id']}"
    assert body["status"] == "pending" and body["strategy"] == "rolling"
    assert body["triggered_by"] == {"kind": "user", "id": str(dev.user_id), "name": dev.username}
    assert body["commit_sha"] == "abc1234" and body["previous_version"] == "1.0.0"
    assert (await agent(fleet_client, dev, created["id"]))["status"] == "deploying"

    done = await finished(fleet_client, dev, body["id"], "completed")
    assert done["status"] == "completed", done
    assert done["progress"] == {"desired": 3, "updated": 3, "ready": 3}
    assert done["started_at"] and done["completed_at"]

    new = done["spec_hash"]
    assert new not in old
    events = done["events"]
    ready_new = stopped_old = 0
    for event in events:
        if event["kind"] == "replica_ready" and event["spec_hash"] == new:
            ready_new += 1
        if event["kind"] == "replica_stopping" and event["spec_hash"] in old:
            stopped_old += 1
            assert ready_new > stopped_old - 1 and ready_new >= stopped_old, events
    assert (ready_new, stopped_old) == (3, 3)
    assert [e["kind"] for e in events][:2] == ["created", "started"]
    assert events[-1]["kind"] == "completed"

    after = await wait_status(fleet_client, dev, created["id"], "running", ready=3)
    assert after["version"] == "2.0.0"
    assert after["config"]["env"] == {"FEATURE": "on"}
    rows = await replicas(fleet_client, dev, created["id"])
    assert {r["version"] for r in rows} == {"2.0.0"} and len(rows) == 3
    async with httpx.AsyncClient(timeout=5) as direct:
        served = await direct.get(f"http://127.0.0.1:{rows[0]['port']}/")
    assert served.text == "2.0.0"

    bus = fleet_client.app.state.deck.bus  # type: ignore[attr-defined]
    published = [
        e.data
        for e in await bus.replay(f"tenant:{dev.tenant_id}:deployments", 0)
        if e.data["deployment"]["id"] == body["id"]
    ]
    actions = [m["action"] for m in published]
    assert actions[0] == "created" and actions[-1] == "completed" and "progress" in actions
    assert published[-1]["deployment"]["status"] == "completed"
    assert published[-1]["event"]["kind"] == "completed"


async def test_a_recreate_deployment_stops_every_old_replica_first(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await running_agent(fleet_client, dev, programs["server"], 2)
    response = await deploy(fleet_client, dev, created["id"], "2.0.0", strategy="recreate")
    done = await finished(fleet_client, dev, response.json()["id"], "completed")
    assert done["status"] == "completed"
    kinds = [(e["kind"], e["spec_hash"]) for e in done["events"]]
    new = done["spec_hash"]
    last_old_stop = max(i for i, (k, h) in enumerate(kinds) if k == "replica_stopped" and h != new)
    first_new_start = min(i for i, (k, h) in enumerate(kinds) if k == "replica_started")
    assert last_old_stop < first_new_start, kinds


async def test_new_replicas_not_ready_in_time_are_rolled_back_automatically(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await running_agent(fleet_client, dev, programs["server"], 2)
    before = await replicas(fleet_client, dev, created["id"])
    response = await deploy(
        fleet_client,
        dev,
        created["id"],
        "2.0.0",
        spec={"args": [str(programs["never_healthy"])]},
        progress_deadline_seconds=2,
    )
    assert response.status_code == 201, response.text
    done = await finished(fleet_client, dev, response.json()["id"], "rolled_back")
    assert done["status"] == "rolled_back", done
    assert done["error"].startswith("0 of 2 new replicas were ready within 2 s")
    kinds = [e["kind"] for e in done["events"]]
    assert kinds.index("deadline_exceeded") < kinds.index("rolling_back") < len(kinds) - 1
    assert kinds[-1] == "rolled_back"
    # rolling kept the old replicas serving all along: they are the same processes
    after = await wait_status(fleet_client, dev, created["id"], "running", ready=2)
    assert after["version"] == "1.0.0"
    assert after["config"]["args"] == [str(programs["server"])]
    rows = await eventually(
        lambda: replicas(fleet_client, dev, created["id"]), lambda rows: len(rows) == 2
    )
    assert {r["pid"] for r in rows} == {r["pid"] for r in before}


async def test_a_first_spec_that_never_gets_ready_fails_with_nothing_to_roll_back(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["crash"])
    response = await deploy(fleet_client, dev, created["id"], "1.0.1", progress_deadline_seconds=2)
    done = await finished(fleet_client, dev, response.json()["id"], "failed")
    assert done["status"] == "failed"
    assert "fatal: the model endpoint is not configured" in done["error"]
    assert done["events"][-1]["kind"] == "failed"
    await wait_status(fleet_client, dev, created["id"], "error")


async def test_one_deployment_at_a_time_and_no_scaling_or_restart_meanwhile(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await running_agent(fleet_client, dev, programs["server"], 1)
    first = await deploy(
        fleet_client, dev, created["id"], "2.0.0", spec={"args": [str(programs["never_healthy"])]}
    )
    assert first.status_code == 201
    second = await deploy(fleet_client, dev, created["id"], "3.0.0")
    problem = assert_problem(second, 409, "deployment-in-progress")
    assert problem["deployment_id"] == first.json()["id"]
    assert_problem(
        await act(fleet_client, dev, created["id"], "scale", replicas=2),
        409,
        "deployment-in-progress",
    )
    assert_problem(
        await act(fleet_client, dev, created["id"], "restart"), 409, "deployment-in-progress"
    )
    # rolling the one under way back ends it and restores the previous version
    rolled = await fleet_client.post(
        f"{DEPLOYMENTS}/{first.json()['id']}/rollback", headers=dev.headers
    )
    assert rolled.status_code == 201, rolled.text
    assert rolled.json()["rollback_of"] == first.json()["id"]
    assert rolled.json()["version"] == "1.0.0"
    assert (await deployment(fleet_client, dev, first.json()["id"]))["status"] == "rolled_back"
    done = await finished(fleet_client, dev, rolled.json()["id"], "completed")
    assert done["status"] == "completed", done
    after = await wait_status(fleet_client, dev, created["id"], "running", ready=1)
    assert after["version"] == "1.0.0"
    # and now a new deployment is accepted again
    assert (await deploy(fleet_client, dev, created["id"], "3.0.0")).status_code == 201


async def test_rollback_of_the_latest_and_refusals_otherwise(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"])
    first = (await deploy(fleet_client, dev, created["id"], "1.0.0")).json()
    await finished(fleet_client, dev, first["id"], "completed")
    problem = assert_problem(
        await fleet_client.post(f"{DEPLOYMENTS}/{first['id']}/rollback", headers=dev.headers),
        409,
        "nothing-to-roll-back",
    )
    assert "first" in problem["detail"]
    second = (
        await deploy(fleet_client, dev, created["id"], "1.1.0", spec={"env": {"MODE": "fast"}})
    ).json()
    assert (await finished(fleet_client, dev, second["id"], "completed"))["status"] == "completed"
    assert_problem(
        await fleet_client.post(f"{DEPLOYMENTS}/{first['id']}/rollback", headers=dev.headers),
        409,
        "not-latest-deployment",
    )
    rolled = await fleet_client.post(f"{DEPLOYMENTS}/{second['id']}/rollback", headers=dev.headers)
    assert rolled.status_code == 201, rolled.text
    done = await finished(fleet_client, dev, rolled.json()["id"], "completed")
    assert done["status"] == "completed" and done["version"] == "1.0.0"
    assert (await deployment(fleet_client, dev, second["id"]))["status"] == "rolled_back"
    after = await wait_status(fleet_client, dev, created["id"], "running", ready=1)
    assert after["version"] == "1.0.0" and "env" not in after["config"]


async def test_diff_history_and_filters(
    fleet_client: httpx.AsyncClient, dev: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"])
    first = (await deploy(fleet_client, dev, created["id"], "1.0.0")).json()
    await finished(fleet_client, dev, first["id"], "completed")
    second = (
        await deploy(
            fleet_client,
            dev,
            created["id"],
            "1.1.0",
            spec={"env": {"LOG_LEVEL": "debug"}},
            replicas=2,
        )
    ).json()
    await finished(fleet_client, dev, second["id"], "completed")

    diff = await fleet_client.get(
        f"{DEPLOYMENTS}/{second['id']}/diff", params={"base": first["id"]}, headers=dev.headers
    )
    assert diff.status_code == 200, diff.text
    changes = {c["path"]: (c["before"], c["after"]) for c in diff.json()["changes"]}
    assert changes == {
        "version": ("1.0.0", "1.1.0"),
        "replicas": (1, 2),
        "spec.env.LOG_LEVEL": (None, "debug"),
    }
    replaced = await fleet_client.get(f"{DEPLOYMENTS}/{second['id']}/diff", headers=dev.headers)
    assert replaced.json()["base"] is None
    assert {c["path"] for c in replaced.json()["changes"]} >= {"version", "spec.env.LOG_LEVEL"}

    history = await fleet_client.get(
        f"{AGENTS}/{created['id']}/deployments", params={"limit": 1}, headers=dev.headers
    )
    page = history.json()
    assert [d["id"] for d in page["items"]] == [second["id"]] and page["next_cursor"]
    rest = await fleet_client.get(
        f"{AGENTS}/{created['id']}/deployments",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=dev.headers,
    )
    assert [d["id"] for d in rest.json()["items"]] == [first["id"]]
    assert "events" not in rest.json()["items"][0]

    everyone = await fleet_client.get(
        DEPLOYMENTS, params={"status": "completed", "version": "1.1.0"}, headers=dev.headers
    )
    assert [d["id"] for d in everyone.json()["items"]] == [second["id"]]
    by_trigger = await fleet_client.get(
        DEPLOYMENTS, params={"triggered_by": "github"}, headers=dev.headers
    )
    assert by_trigger.json()["items"] == []
    bad = await fleet_client.get(DEPLOYMENTS, params={"status": "nope"}, headers=dev.headers)
    assert bad.status_code == 422


async def test_an_error_rate_over_the_guard_rolls_the_deployment_back(
    fleet_client: httpx.AsyncClient,
    dev: Caller,
    factory: Factory,
    programs: dict[str, Path],
) -> None:
    created = await running_agent(fleet_client, dev, programs["server"], 1)
    response = await deploy(
        fleet_client,
        dev,
        created["id"],
        "2.0.0",
        spec={"args": [str(programs["never_healthy"])]},  # stays in progress meanwhile
        max_error_rate=0.1,
        progress_deadline_seconds=120,
    )
    ident = response.json()["id"]
    assert response.json()["max_error_rate"] == 0.1
    await eventually(
        lambda: deployment(fleet_client, dev, ident),
        lambda d: d["status"] == "in_progress",
        what="in progress",
    )
    key = await factory.api_key(Role.developer, await factory.session.get(Tenant, dev.tenant_id))
    now = int(time.time() * 1000)
    labels = {"agent": created["name"]}
    samples = [
        {"name": name, "value": value, "timestamp": ts, "labels": labels, "type": "counter"}
        for name, values in (("agent_requests_total", (0, 100)), ("agent_errors_total", (0, 40)))
        for ts, value in zip((now - 1000, now), values, strict=True)
    ]
    ingested = await fleet_client.post(
        "/api/v1/metrics/batch", json={"samples": samples}, headers=key.headers
    )
    assert ingested.status_code == 200, ingested.text
    done = await finished(fleet_client, dev, ident, "rolled_back")
    assert done["status"] == "rolled_back", done
    assert done["error"].startswith("the error rate during the rollout was 40.0%"), done["error"]
    assert done["error"].endswith("over the guard of 10.0%")
    kinds = [e["kind"] for e in done["events"]]
    assert "error_rate_exceeded" in kinds and "deadline_exceeded" not in kinds
    after = await wait_status(fleet_client, dev, created["id"], "running", ready=1)
    assert after["version"] == "1.0.0"
