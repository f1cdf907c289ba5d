"""Who may act on the fleet: developers and admins act, viewers read, other tenants see
nothing (404 on another tenant's agents, replicas and deployments)."""

from __future__ import annotations

from pathlib import Path

import httpx

from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory
from tests.fleet.helpers import AGENTS, act, assert_problem, create_agent, wait_status

DEPLOYMENTS = "/api/v1/deployments"


async def test_viewers_read_but_do_not_act(
    fleet_client: httpx.AsyncClient,
    dev: Caller,
    viewer: Caller,
    factory: Factory,
    programs: dict[str, Path],
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"])
    deployed = await fleet_client.post(
        f"{AGENTS}/{created['id']}/deployments", json={"version": "1.0.0"}, headers=dev.headers
    )
    assert deployed.status_code == 201
    ident = created["id"]
    for action, body in (
        ("start", None),
        ("stop", None),
        ("restart", None),
        ("scale", {"replicas": 2}),
        ("deployments", {"version": "9.9.9"}),
    ):
        response = await fleet_client.post(
            f"{AGENTS}/{ident}/{action}", json=body, headers=viewer.headers
        )
        assert_problem(response, 403, "forbidden")
    assert_problem(
        await fleet_client.post(
            f"{DEPLOYMENTS}/{deployed.json()['id']}/rollback", headers=viewer.headers
        ),
        403,
        "forbidden",
    )
    for path in (
        f"{AGENTS}/{ident}/replicas",
        f"{AGENTS}/{ident}/deployments",
        f"{AGENTS}/{ident}/output",
        f"{DEPLOYMENTS}/{deployed.json()['id']}",
        f"{DEPLOYMENTS}/{deployed.json()['id']}/diff",
        DEPLOYMENTS,
        "/api/v1/fleet/driver",
    ):
        assert (await fleet_client.get(path, headers=viewer.headers)).status_code == 200, path
    # admins act like developers; API keys with the developer role too
    admin = await factory.user(Role.admin, await _tenant_of(factory, dev))
    key = await factory.api_key(Role.developer, await _tenant_of(factory, dev))
    await wait_status(fleet_client, dev, ident, "running", ready=1)
    assert (await act(fleet_client, admin, ident, "scale", replicas=2)).status_code == 200
    stopped = await act(fleet_client, key, ident, "stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    anonymous = await fleet_client.post(f"{AGENTS}/{ident}/start")
    assert_problem(anonymous, 401, "unauthorized")


async def _tenant_of(factory: Factory, caller: Caller) -> Tenant:
    tenant = await factory.session.get(Tenant, caller.tenant_id)
    assert tenant is not None
    return tenant


async def test_another_tenant_gets_404_on_agents_replicas_and_deployments(
    fleet_client: httpx.AsyncClient, dev: Caller, factory: Factory, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"])
    deployed = (
        await fleet_client.post(
            f"{AGENTS}/{created['id']}/deployments", json={"version": "1.0.0"}, headers=dev.headers
        )
    ).json()
    other = await factory.user(Role.admin)  # a user of another tenant
    ident = created["id"]
    for action, body in (
        ("start", None),
        ("stop", None),
        ("restart", None),
        ("scale", {"replicas": 2}),
        ("deployments", {"version": "9.9.9"}),
    ):
        response = await fleet_client.post(
            f"{AGENTS}/{ident}/{action}", json=body, headers=other.headers
        )
        assert_problem(response, 404, "not-found")
    for path in (
        f"{AGENTS}/{ident}/replicas",
        f"{AGENTS}/{ident}/deployments",
        f"{AGENTS}/{ident}/output",
        f"{DEPLOYMENTS}/{deployed['id']}",
        f"{DEPLOYMENTS}/{deployed['id']}/diff",
    ):
        assert_problem(await fleet_client.get(path, headers=other.headers), 404, "not-found")
    assert_problem(
        await fleet_client.post(f"{DEPLOYMENTS}/{deployed['id']}/rollback", headers=other.headers),
        404,
        "not-found",
    )
    assert_problem(
        await fleet_client.get(DEPLOYMENTS, params={"agent_id": ident}, headers=other.headers),
        404,
        "not-found",
    )
    theirs = await fleet_client.get(DEPLOYMENTS, headers=other.headers)
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    # and the owner's agent was not touched by any of it
    await wait_status(fleet_client, dev, ident, "running", ready=1)
    mine = await fleet_client.get(f"{AGENTS}/{ident}", headers=dev.headers)
    assert mine.json()["replica_count"] == 1 and mine.json()["version"] == "1.0.0"
