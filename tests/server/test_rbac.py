"""Every route × every role: 401 without credentials, 403 below its role, allowed at or above.

The table below is the policy, written by hand. A route missing from it fails this test, so a
new route cannot land without a decision about who may call it.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentdeck.identity.roles import Role
from agentdeck.server.deps import PUBLIC_ROUTES
from tests.conftest import Factory

V, D, A = Role.viewer, Role.developer, Role.admin

# The foundation's routes. Other areas add theirs in tests/server/rbac_policy_<area>.py, each
# defining POLICY the same way; they are merged below.
FOUNDATION: dict[tuple[str, str], Role] = {
    ("GET", "/api/v1/auth/me"): V,
    ("POST", "/api/v1/auth/password"): V,
    ("GET", "/api/v1/tenant"): V,
    ("PATCH", "/api/v1/tenant"): A,
    ("GET", "/api/v1/users"): A,
    ("POST", "/api/v1/users"): A,
    ("GET", "/api/v1/users/{user_id}"): A,
    ("PATCH", "/api/v1/users/{user_id}"): A,
    ("GET", "/api/v1/api-keys"): A,
    ("POST", "/api/v1/api-keys"): A,
    ("GET", "/api/v1/api-keys/{key_id}"): A,
    ("DELETE", "/api/v1/api-keys/{key_id}"): A,
    ("GET", "/api/v1/agents"): V,
    ("POST", "/api/v1/agents"): D,
    ("GET", "/api/v1/agents/{agent_id}"): V,
    ("PATCH", "/api/v1/agents/{agent_id}"): D,
    ("DELETE", "/api/v1/agents/{agent_id}"): D,
    ("GET", "/api/v1/audit-log"): A,
    ("GET", "/api/v1/audit-log/{entry_id}"): A,
}


def _merged_policy() -> dict[tuple[str, str], Role]:
    policy = dict(FOUNDATION)
    for path in sorted(Path(__file__).parent.glob("rbac_policy_*.py")):
        module = importlib.import_module(f"tests.server.{path.stem}")
        for op, role in module.POLICY.items():
            assert op not in policy, f"{op} has two policies"
            policy[op] = role
    return policy


POLICY = _merged_policy()

_PARAM = re.compile(r"\{[^}]+\}")


def _operations(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    spec: dict[str, Any] = client.app.openapi()  # type: ignore[attr-defined]
    ops = []
    for path, item in spec["paths"].items():
        for method in item:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                ops.append((method.upper(), path))
    return sorted(ops)


async def _call(client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = _PARAM.sub(lambda _: str(uuid.uuid4()), path)
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    response = await client.request(method, url, json=body, headers=headers)
    return response.status_code


@pytest.fixture
async def open_client(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> httpx.AsyncClient:
    return await app_factory(rate_limit={"enabled": False})


async def test_every_route_has_a_policy(open_client: httpx.AsyncClient) -> None:
    unknown = [
        op for op in _operations(open_client) if op not in POLICY and op not in PUBLIC_ROUTES
    ]
    assert not unknown, f"routes without an entry in POLICY (add one): {unknown}"
    stale = [op for op in POLICY if op not in _operations(open_client)]
    assert not stale, f"POLICY names routes that no longer exist: {stale}"


async def test_anonymous_gets_401_everywhere_but_public_routes(
    open_client: httpx.AsyncClient,
) -> None:
    for method, path in _operations(open_client):
        if (method, path) in PUBLIC_ROUTES:
            continue
        status = await _call(open_client, method, path, {})
        assert status == 401, f"{method} {path} answered {status} without credentials"


@pytest.mark.parametrize("kind", ["user", "api_key"])
async def test_each_role_is_allowed_exactly_what_the_policy_says(
    open_client: httpx.AsyncClient, factory: Factory, kind: str
) -> None:
    tenant = await factory.tenant()
    callers = {}
    for role in Role:
        if kind == "user":
            callers[role] = await factory.user(role, tenant)
        else:
            callers[role] = await factory.api_key(role, tenant)
    failures = []
    for (method, path), required in POLICY.items():
        if kind == "api_key" and path in {"/api/v1/auth/password"}:
            continue  # only people have passwords
        for role, caller in callers.items():
            status = await _call(open_client, method, path, caller.headers)
            allowed = role.allows(required)
            if allowed and status in (401, 403):
                failures.append(f"{role} {method} {path}: {status}, expected allowed")
            if not allowed and status != 403:
                failures.append(f"{role} {method} {path}: {status}, expected 403")
    assert not failures, "\n".join(failures)
