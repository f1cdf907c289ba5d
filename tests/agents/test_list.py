"""Listing agents: filters, label selectors, search, sorting and cursor paging."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import AgentStatus, AgentType
from agentdeck.agents.schemas import AgentCreate
from agentdeck.agents.service import add_agent, new_agent
from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from tests.agents.helpers import AGENTS, assert_problem, count_agents, create
from tests.conftest import Caller, Factory

# name, type, status, labels, description
FLEET: list[tuple[str, str, str, dict[str, str], str]] = [
    ("alpha", "llm", "running", {"team": "support", "env": "prod"}, "Answers 100% of tickets"),
    ("bravo", "classifier", "stopped", {"team": "support", "env": "dev"}, "spam_filter v2"),
    ("charlie", "extractor", "error", {"team": "finance", "env": "prod"}, "Invoice reader"),
    ("delta", "llm", "scaling", {"team": "finance"}, "Chat for TRIAGE desk"),
    ("echo", "custom", "deploying", {}, "No labels at all"),
    ("foxtrot", "llm", "running", {"env": "staging", "tier": "gold"}, "Triage helper"),
]
ALL = {name for name, *_ in FLEET}


@pytest.fixture
async def fleet(client: httpx.AsyncClient, dev: Caller) -> dict[str, dict[str, Any]]:
    agents = {}
    for name, kind, status, labels, description in FLEET:
        agent = await create(client, dev, name, type=kind, labels=labels, description=description)
        if status != "stopped":
            response = await client.patch(
                f"{AGENTS}/{agent['id']}", json={"status": status}, headers=dev.headers
            )
            assert response.status_code == 200
            agent = response.json()
        agents[name] = agent
    return agents


async def names(client: httpx.AsyncClient, caller: Caller, **params: Any) -> set[str]:
    response = await client.get(AGENTS, params={"limit": 500, **params}, headers=caller.headers)
    assert response.status_code == 200, response.text
    return {item["name"] for item in response.json()["items"]}


async def test_default_list_is_newest_first(
    client: httpx.AsyncClient, dev: Caller, fleet: dict[str, Any]
) -> None:
    response = await client.get(AGENTS, headers=dev.headers)
    assert response.status_code == 200
    page = response.json()
    assert page["limit"] == 50
    assert page["next_cursor"] is None
    assert [a["name"] for a in page["items"]] == [name for name, *_ in reversed(FLEET)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "llm"}, {"alpha", "delta", "foxtrot"}),
        ({"type": ["extractor", "custom"]}, {"charlie", "echo"}),
        ({"status": "running"}, {"alpha", "foxtrot"}),
        ({"status": ["error", "scaling"]}, {"charlie", "delta"}),
        ({"type": "llm", "status": "running"}, {"alpha", "foxtrot"}),
    ],
)
async def test_filter_by_type_and_status(
    client: httpx.AsyncClient,
    dev: Caller,
    fleet: dict[str, Any],
    params: dict[str, Any],
    expected: set[str],
) -> None:
    assert await names(client, dev, **params) == expected


@pytest.mark.parametrize("params", [{"type": "robot"}, {"status": "exploded"}])
async def test_unknown_type_or_status_is_422(
    client: httpx.AsyncClient, dev: Caller, params: dict[str, str]
) -> None:
    response = await client.get(AGENTS, params=params, headers=dev.headers)
    assert_problem(response, 422, "validation-error", ["query", next(iter(params))])


async def test_filter_by_owner(
    client: httpx.AsyncClient,
    factory: Factory,
    tenant: Tenant,
    dev: Caller,
    fleet: dict[str, Any],
) -> None:
    colleague = await factory.user(Role.developer, tenant)
    await create(client, colleague, "colleagues")
    assert await names(client, dev, owner="me") == ALL
    assert await names(client, colleague, owner="me") == {"colleagues"}
    assert await names(client, dev, owner=str(colleague.user_id)) == {"colleagues"}
    assert await names(client, dev) == ALL | {"colleagues"}


@pytest.mark.parametrize("owner", ["someone", "12345"])
async def test_bad_owner_is_422(client: httpx.AsyncClient, dev: Caller, owner: str) -> None:
    response = await client.get(AGENTS, params={"owner": owner}, headers=dev.headers)
    assert_problem(response, 422, "validation-error", ["query", "owner"])


async def test_owner_me_with_an_api_key_is_422(
    client: httpx.AsyncClient, factory: Factory, tenant: Tenant
) -> None:
    key = await factory.api_key(Role.viewer, tenant)
    response = await client.get(AGENTS, params={"owner": "me"}, headers=key.headers)
    assert_problem(response, 422, "validation-error", ["query", "owner"])


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("team=support", {"alpha", "bravo"}),
        ("team==support", {"alpha", "bravo"}),
        ("team!=support", {"charlie", "delta", "echo", "foxtrot"}),
        ("env", {"alpha", "bravo", "charlie", "foxtrot"}),
        ("!env", {"delta", "echo"}),
        ("env in (prod, staging)", {"alpha", "charlie", "foxtrot"}),
        ("env notin (prod,staging)", {"bravo", "delta", "echo"}),
        ("team=finance,env=prod", {"charlie"}),
        ("team in (support,finance), env!=dev, !tier", {"alpha", "charlie", "delta"}),
        ("tier=gold", {"foxtrot"}),
        ("team=nobody", set()),
        ("", ALL),
    ],
)
async def test_label_selector_operators(
    client: httpx.AsyncClient,
    dev: Caller,
    fleet: dict[str, Any],
    selector: str,
    expected: set[str],
) -> None:
    assert await names(client, dev, label=selector) == expected


@pytest.mark.parametrize(
    "selector",
    [
        "env in (",
        "env in ()",
        "env in (prod",
        "env)",
        "=prod",
        "team=support,,env=prod",
        "team=sup port",
        "bad key=v",
        "env=(prod)",
        "k" * 64,
        "team=" + "v" * 64,
        "team in (a b)",
        "team>3",
        ",".join(f"k{i}" for i in range(33)),
    ],
)
async def test_bad_label_selector_is_422_naming_the_field(
    client: httpx.AsyncClient, dev: Caller, selector: str
) -> None:
    response = await client.get(AGENTS, params={"label": selector}, headers=dev.headers)
    problem = assert_problem(response, 422, "validation-error", ["query", "label"])
    assert problem["errors"][0]["message"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("triage", {"delta", "foxtrot"}),
        ("ALPHA", {"alpha"}),
        ("%", {"alpha"}),
        ("_", {"bravo"}),
        ("100%", {"alpha"}),
        ("spam_f", {"bravo"}),
        ("' OR 1=1 --", set()),
        ('"; DROP TABLE agents; --', set()),
        ("\\", set()),
        ("nothing-matches", set()),
    ],
)
async def test_search_treats_input_as_plain_text(
    client: httpx.AsyncClient,
    session: AsyncSession,
    dev: Caller,
    fleet: dict[str, Any],
    q: str,
    expected: set[str],
) -> None:
    assert await names(client, dev, q=q) == expected
    assert await count_agents(session, dev.tenant_id) == len(FLEET)


def _sort_key(sort: str) -> Any:
    field = sort.lstrip("-")
    return lambda a: (a[field], a["id"])


@pytest.mark.parametrize(
    "sort",
    ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "status"],
)
async def test_sorting(
    client: httpx.AsyncClient, dev: Caller, fleet: dict[str, Any], sort: str
) -> None:
    response = await client.get(AGENTS, params={"sort": sort}, headers=dev.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == len(FLEET)
    if sort.lstrip("-") in ("name", "created_at"):
        ordered = sorted(fleet.values(), key=lambda a: a[sort.lstrip("-")])
        expected = [a["name"] for a in ordered]
        if sort.startswith("-"):
            expected.reverse()
        assert [a["name"] for a in items] == expected
    statuses = [a["status"] for a in items]
    if sort == "status":
        assert statuses == sorted(statuses)


@pytest.mark.parametrize("params", [{"sort": "owner"}, {"sort": "name;drop"}])
async def test_bad_sort_is_422(
    client: httpx.AsyncClient, dev: Caller, params: dict[str, str]
) -> None:
    response = await client.get(AGENTS, params=params, headers=dev.headers)
    assert_problem(response, 422, "validation-error", ["query", "sort"])


@pytest.mark.parametrize("limit", [0, 501, -1])
async def test_limit_out_of_range_is_422(
    client: httpx.AsyncClient, dev: Caller, limit: int
) -> None:
    response = await client.get(AGENTS, params={"limit": limit}, headers=dev.headers)
    assert_problem(response, 422, "validation-error", ["query", "limit"])


async def _seed_for_paging(session: AsyncSession, tenant: Tenant, owner: Caller) -> None:
    """Eleven agents; several share a created_at so the id tie-break is exercised."""
    same = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    for i in range(11):
        data = AgentCreate(name=f"paged-{i:02d}", type=AgentType.llm, labels={"batch": "p"})
        agent, _ = new_agent(data, tenant_id=tenant.id, owner_id=owner.user_id)
        if i % 3 == 0:
            agent.created_at = agent.updated_at = same
        agent.status = [AgentStatus.running, AgentStatus.stopped, AgentStatus.error][i % 3]
        await add_agent(session, agent)
    await session.commit()


@pytest.mark.parametrize(
    "sort",
    ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at", "status"],
)
async def test_cursor_paging_has_no_duplicates_or_gaps(
    client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, dev: Caller, sort: str
) -> None:
    await _seed_for_paging(session, tenant, dev)
    full = await client.get(AGENTS, params={"sort": sort, "limit": 500}, headers=dev.headers)
    expected = [a["id"] for a in full.json()["items"]]
    assert len(expected) == 11

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 4, "label": "batch=p"}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(AGENTS, params=params, headers=dev.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [a["id"] for a in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == expected


async def test_bad_cursor_is_400(
    client: httpx.AsyncClient, session: AsyncSession, tenant: Tenant, dev: Caller
) -> None:
    await _seed_for_paging(session, tenant, dev)
    garbage = await client.get(AGENTS, params={"cursor": "not-a-cursor"}, headers=dev.headers)
    assert_problem(garbage, 400, "invalid-cursor", ["query", "cursor"])

    by_name = await client.get(AGENTS, params={"sort": "name", "limit": 2}, headers=dev.headers)
    cursor = by_name.json()["next_cursor"]
    mixed = await client.get(
        AGENTS, params={"sort": "created_at", "cursor": cursor}, headers=dev.headers
    )
    assert_problem(mixed, 400, "invalid-cursor", ["query", "cursor"])
