"""The rule-file export answers what its API document promises (found by `make fuzz`: the
document said "a string" while clients that parse YAML get the rule file's structure)."""

from __future__ import annotations

import httpx
import jsonschema
import yaml

from agentdeck.identity.roles import Role
from tests.conftest import Factory


async def test_exported_rule_file_matches_its_documented_schema(
    api: httpx.AsyncClient, factory: Factory
) -> None:
    tenant = await factory.tenant()
    dev = await factory.user(Role.developer, tenant)
    form = {"metric_name": "cpu", "aggregation": "max", "window": "5m", "operator": ">"}
    created = await api.post(
        "/api/v1/alert-rules",
        json={"name": "HotCPU", "threshold": {**form, "threshold": 80}, "severity": "critical"},
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    viewer = await factory.user(Role.viewer, tenant)
    document = (await api.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/alert-rules/export"]["get"]
    schema = operation["responses"]["200"]["content"]["application/yaml"]["schema"]
    answer = await api.get("/api/v1/alert-rules/export", headers=viewer.headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/yaml")
    parsed = yaml.safe_load(answer.text)
    jsonschema.validate(parsed, schema)
    (group,) = parsed["groups"]
    assert [r["alert"] for r in group["rules"]] == ["HotCPU"]
