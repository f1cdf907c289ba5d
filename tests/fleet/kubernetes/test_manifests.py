"""Every manifest the driver generates, and the RBAC manifest, against the Kubernetes OpenAPI
schema (kubernetes-validate, strict: unknown fields are errors); and the RBAC Role grants every
request the driver makes."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from agentdeck.fleet.driver import Strategy, WorkloadSpec
from agentdeck.fleet.kubernetes import manifests
from agentdeck.fleet.kubernetes.driver import KubernetesDriver
from agentdeck.settings import FleetKubernetesSettings
from tests.fleet.kubernetes.apiserver import VERSION, ApiServer
from tests.fleet.kubernetes.conftest import NAMESPACE, make_spec

RBAC = Path(__file__).resolve().parents[3] / "deploy" / "kubernetes" / "rbac.yaml"
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

SETTINGS = FleetKubernetesSettings(image="registry.example/agentdeck:1")

SPECS: dict[str, WorkloadSpec] = {
    "custom image with command": make_spec(command="python", args=("-m", "bot")),
    "image entrypoint": make_spec(command=None, health_path=None, port=None),
    "template": make_spec(image=None, template="llm", config={}, env={}),
    "no limits": make_spec(cpu_limit=None, memory_limit=None),
    "odd name": make_spec(
        agent_name="--Ünïcode agent with a very long name, dots. and_underscores___--",
        version="1.2.3+build.7",
        working_dir="/srv/app",
    ),
}


def check(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, VERSION, strict=True)


@pytest.mark.parametrize("case", sorted(SPECS))
@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("replicas", [0, 3])
def test_deployments_and_services_are_valid(case: str, strategy: Strategy, replicas: int) -> None:
    spec = SPECS[case]
    deployment = manifests.deployment(spec, replicas=replicas, strategy=strategy, settings=SETTINGS)
    service = manifests.service(spec, settings=SETTINGS)
    check(deployment)
    check(service)
    name = deployment["metadata"]["name"]
    assert DNS_1035.match(name) and len(name) <= 63
    assert service["metadata"]["name"] == name
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert manifests.spec_of(deployment) == spec
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    if case == "template":  # agentdeck's own program, in the configured image, on all addresses
        assert container["image"] == "registry.example/agentdeck:1"
        assert container["command"] == ["agentdeck", "agent", "run", "--template", "llm"]
        assert env["AGENTDECK_AGENT_HOST"] == "0.0.0.0"
    else:
        assert "AGENTDECK_AGENT_HOST" not in env
    if spec.memory_limit == "256Mi":
        assert env["AGENTDECK_MEMORY_LIMIT_BYTES"] == str(256 * 1024 * 1024)


def test_a_broken_manifest_is_caught_by_the_schema() -> None:
    """The check can fail: an unknown field and a mistyped one are refused."""
    deployment = manifests.deployment(
        SPECS["template"], replicas=1, strategy=Strategy.rolling, settings=SETTINGS
    )
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        check(deployment)
    deployment = manifests.deployment(
        SPECS["template"], replicas=1, strategy=Strategy.rolling, settings=SETTINGS
    )
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        check(deployment)


def rbac() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(RBAC.read_text()) if doc]


def test_the_rbac_manifest_is_valid() -> None:
    docs = rbac()
    assert [d["kind"] for d in docs] == ["ServiceAccount", "Role", "RoleBinding"]
    for doc in docs:
        check(doc)
    role = docs[1]
    assert role["metadata"]["namespace"] == FleetKubernetesSettings().namespace
    binding = docs[2]
    assert binding["subjects"][0]["name"] == docs[0]["metadata"]["name"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def _permission(method: str, path: str, query: dict[str, str]) -> tuple[str, str, str]:
    """(apiGroup, resource, verb) of one request, as the API server's authorizer sees it."""
    match = re.match(r"^/apis/apps/v1/namespaces/[^/]+/deployments(/[^/]+)?(/scale)?$", path)
    group = "apps"
    if match is None:
        match = re.match(r"^/api/v1/namespaces/[^/]+/(services|pods)(/[^/]+)?(/log)?$", path)
        assert match is not None, path
        group = ""
        resource = match.group(1) + ("/log" if match.group(3) else "")
        named = match.group(2) is not None
    else:
        resource = "deployments" + ("/scale" if match.group(2) else "")
        named = match.group(1) is not None
    watch = query.get("watch") in ("true", "True", "1")
    verb = {
        "GET": "get" if named else ("watch" if watch else "list"),
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete",
    }[method]
    return group, resource, verb


async def test_the_role_grants_every_request_the_driver_makes(
    driver: KubernetesDriver, api: ApiServer
) -> None:
    spec = make_spec()
    await driver.apply(spec, replicas=1, strategy=Strategy.rolling)
    await api.step(3)
    await driver.scale(spec.agent_id, 2)
    await driver.apply(
        make_spec(agent_id=spec.agent_id, version="2"), replicas=2, strategy=Strategy.rolling
    )
    await api.step(2)
    await driver.logs(spec.agent_id)
    stepping = asyncio.create_task(api.run(0.02))
    try:
        await driver.delete(spec.agent_id, wait=True)
    finally:
        stepping.cancel()
        await asyncio.gather(stepping, return_exceptions=True)
    role = rbac()[1]
    allowed = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    used = {_permission(s.method, s.path, s.query) for s in api.requests}
    assert used <= allowed, used - allowed
    assert allowed <= used, f"the Role grants more than the driver uses: {allowed - used}"
    assert {s.path.split("/namespaces/")[1].split("/")[0] for s in api.requests} == {NAMESPACE}


def test_object_names_are_stable_and_distinct() -> None:
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    assert manifests.object_name("bot", a) == manifests.object_name("bot", a)
    assert manifests.object_name("bot", a) != manifests.object_name("bot", b)
    assert manifests.object_name("", a).startswith("ad-")
    assert manifests.label_value("--x--") == "x"
