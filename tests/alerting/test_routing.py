"""Route matching (table), inheritance and defaults; the routing tree API (ETag, validation)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from agentdeck.alerting.routing.tree import RoutingTree, match_routes
from agentdeck.identity.roles import Role
from tests.alerting.routing_fixtures import World
from tests.conftest import Caller, Factory

R = {name: str(uuid.UUID(int=i + 1)) for i, name in enumerate(["root", "db", "web", "crit", "all"])}

TREE: dict[str, Any] = {
    "receiver_id": R["root"],
    "group_by": ["alertname"],
    "routes": [
        {
            "matchers": [{"name": "team", "op": "=", "value": "db"}],
            "receiver_id": R["db"],
            "group_wait_seconds": 5,
            "routes": [
                {
                    "matchers": [{"name": "severity", "op": "=", "value": "critical"}],
                    "receiver_id": R["crit"],
                }
            ],
        },
        {
            "matchers": [{"name": "team", "op": "=~", "value": "web|api"}],
            "receiver_id": R["web"],
            "continue": True,
        },
        {"matchers": [{"name": "env", "op": "!=", "value": "dev"}], "receiver_id": R["all"]},
    ],
}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"team": "db"}, ["db"]),  # first match wins
        ({"team": "db", "severity": "critical"}, ["crit"]),  # deepest match
        ({"team": "web"}, ["web", "all"]),  # continue: the next sibling is tried too
        ({"team": "api", "env": "dev"}, ["web"]),  # continue, but the sibling does not match
        ({"team": "webby", "env": "dev"}, ["root"]),  # anchored regex; no child: the root
        ({"env": "prod"}, ["all"]),  # `!=` matches a missing team
        ({}, ["all"]),  # a missing env is "" which is != "dev"
        ({"env": "dev"}, ["root"]),
    ],
)
def test_route_matching_table(labels: dict[str, str], expected: list[str]) -> None:
    names = {v: k for k, v in R.items()}
    got = [names[str(r.receiver_id)] for r in match_routes(TREE, labels)]
    assert got == expected


def test_settings_inherit_and_default() -> None:
    (crit,) = match_routes(TREE, {"team": "db", "severity": "critical"})
    assert crit.path == "root.0.0"
    assert crit.group_by == ("alertname",)  # from the root
    assert crit.group_wait == 5  # from its parent
    assert crit.group_interval == 300  # default 5 m
    assert crit.repeat_interval == 4 * 3600  # default 4 h
    (root,) = match_routes(TREE, {"env": "dev"})
    assert root.group_wait == 30  # default 30 s


def test_group_key_uses_group_by_values_and_ellipsis_means_every_label() -> None:
    (route,) = match_routes(
        {"receiver_id": R["root"], "group_by": ["team"]}, {"team": "db", "x": "1"}
    )
    assert route.group_labels({"team": "db", "x": "1"}) == {"team": "db"}
    (every,) = match_routes({"receiver_id": R["root"], "group_by": ["..."]}, {"a": "1"})
    assert every.group_labels({"a": "1", "b": "2"}) == {"a": "1", "b": "2"}


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(levels - 1):
        node = (
            {"matchers": [{"name": "a", "op": "=", "value": "b"}], "routes": [node]}
            if node
            else {"matchers": [{"name": "a", "op": "=", "value": "b"}]}
        )
    return {"routes": [node]} if node else {}


BAD_TREES: list[tuple[dict[str, Any], Any]] = [
    ({"matchers": [{"name": "a", "op": "=", "value": "b"}]}, ["body"]),
    ({"routes": [{"matchers": [{"name": "a", "op": "=~", "value": "("}]}]}, "routes"),
    ({"routes": [{"matchers": [{"name": "1bad", "op": "=", "value": "x"}]}]}, "routes"),
    ({"group_wait_seconds": -1}, ["body", "group_wait_seconds"]),
    ({"repeat_interval_seconds": 5}, ["body", "repeat_interval_seconds"]),
    ({"group_by": ["ok", "not a label"]}, ["body", "group_by"]),
    ({"bogus": 1}, ["body", "bogus"]),
    (_deep(12), ["body"]),
]


async def test_put_rejects_bad_trees_naming_the_field(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    for body, loc in BAD_TREES:
        response = await api.put("/api/v1/notification-policy", json=body, headers=admin.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        first = response.json()["errors"][0]["loc"]
        if isinstance(loc, list):
            assert first[: len(loc)] == loc, (body, first)
        else:
            assert loc in first, (body, first)
    kept = await api.get("/api/v1/notification-policy", headers=admin.headers)
    assert kept.json()["revision"] == 0  # nothing was saved


def test_depth_limit_counts_levels() -> None:
    RoutingTree.model_validate(_deep(10))
    with pytest.raises(ValueError, match="levels deep"):
        RoutingTree.model_validate(_deep(11))


async def test_get_put_with_etag_and_if_match(
    api: httpx.AsyncClient, admin: Caller, world: World
) -> None:
    first = await api.get("/api/v1/notification-policy", headers=admin.headers)
    assert first.status_code == 200
    assert first.headers["etag"] == '"0"'
    assert first.json()["tree"]["routes"] == []

    receiver = await world.receiver(await world.channel(), name="ops")
    tree = {
        "receiver_id": str(receiver.id),
        "group_by": ["team"],
        "routes": [{"matchers": [{"name": "team", "op": "=", "value": "db"}], "continue": True}],
    }
    saved = await api.put(
        "/api/v1/notification-policy", json=tree, headers={**admin.headers, "If-Match": '"0"'}
    )
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"1"'
    assert saved.json()["tree"]["routes"][0]["continue"] is True

    stale = await api.put(
        "/api/v1/notification-policy", json=tree, headers={**admin.headers, "If-Match": '"0"'}
    )
    assert stale.status_code == 412
    again = await api.get("/api/v1/notification-policy", headers=admin.headers)
    assert again.json()["revision"] == 1
    assert again.json()["tree"]["receiver_id"] == str(receiver.id)


async def test_tree_must_name_existing_receivers_and_policies(
    api: httpx.AsyncClient, admin: Caller, factory: Factory, world: World
) -> None:
    tenant = await factory.tenant()
    other = await factory.user(Role.admin, tenant)
    theirs = await World(world.sessions, tenant).channel()
    foreign = await api.post(
        "/api/v1/receivers",
        json={"name": "theirs", "channel_ids": [str(theirs.id)]},
        headers=other.headers,
    )
    assert foreign.status_code == 201
    body = {
        "receiver_id": foreign.json()["id"],  # another tenant's receiver
        "routes": [{"escalation_policy_id": str(uuid.uuid4())}],
    }
    response = await api.put("/api/v1/notification-policy", json=body, headers=admin.headers)
    assert response.status_code == 422
    locs = [e["loc"] for e in response.json()["errors"]]
    assert locs == [["body", "receiver_id"], ["body", "routes", 0, "escalation_policy_id"]]


async def test_developers_cannot_change_routing(api: httpx.AsyncClient, dev: Caller) -> None:
    response = await api.put("/api/v1/notification-policy", json={}, headers=dev.headers)
    assert response.status_code == 403
