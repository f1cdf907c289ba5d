"""The Helm chart, rendered offline by Helm's own Go SDK (helm-python-sdk), linted, and every
manifest checked against the Kubernetes OpenAPI schema (kubernetes-validate). No cluster runs
here: what a cluster would do with the manifests is not tested (docs/deploy.md says so)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml
from helm_python.chart import Chart

from tests.deploy.helpers import DEPLOY, settings_from_env, unknown_settings

CHART = DEPLOY / "helm" / "agentdeck"
K8S = kubernetes_validate.latest_version()
SCALE_OUT: dict[str, Any] = {
    "secretKey": {"value": "k" * 48},
    "database": {"url": "postgresql+asyncpg://agentdeck:pw@postgres:5432/agentdeck"},
    "redis": {"url": "redis://redis:6379/0"},
    "metricsStore": {"victoriametricsUrl": "http://victoriametrics:8428"},
    "logStore": {"clickhouseUrl": "clickhouse://clickhouse:9000"},
}


@pytest.fixture(scope="module")
def chart() -> Iterator[Chart]:
    loaded = Chart.load(str(CHART))
    yield loaded
    loaded.close()


def render(chart: Chart, values: dict[str, Any]) -> list[dict[str, Any]]:
    out = chart.render(values, name="ops", namespace="agentdeck", is_install=True)
    docs = []
    for path, text in sorted(out.items()):
        if path.endswith(".txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
    return kinds


def test_lint_is_clean() -> None:
    report = helm_python.lint(str(CHART), SCALE_OUT, strict=True)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="scale-out"),
        pytest.param(
            {
                "ingress": {"enabled": True, "tls": [{"secretName": "t", "hosts": ["a.example"]}]},
                "autoscaling": {"enabled": True},
            },
            id="ingress-and-hpa",
        ),
        pytest.param(
            {
                "replicaCount": 1,
                "redis": {"url": ""},
                "metricsStore": {"backend": "duckdb"},
                "logStore": {"backend": "duckdb"},
                "persistence": {"enabled": True},
                "fleet": {"kubernetes": {"enabled": False}},
                "podDisruptionBudget": {"enabled": False},
            },
            id="single-replica-embedded",
        ),
    ],
)
def test_every_manifest_is_valid_kubernetes(chart: Chart, extra: dict[str, Any]) -> None:
    values = {**SCALE_OUT, **extra}
    docs = render(chart, values)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, K8S, strict=True)


def test_scale_out_release_has_every_piece(chart: Chart) -> None:
    values = {**SCALE_OUT, "ingress": {"enabled": True}, "autoscaling": {"enabled": True}}
    kinds = by_kind(render(chart, values))
    for kind in (
        "Deployment",
        "Service",
        "Ingress",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Secret",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ):
        assert kind in kinds, kind
    (deployment,) = kinds["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    secret_env = {e["name"] for e in container["env"]}
    assert secret_env == {"AGENTDECK_SECRET_KEY", "AGENTDECK_DATABASE__URL"}
    (config,) = kinds["ConfigMap"]
    # secrets never land in the ConfigMap
    assert not {"AGENTDECK_SECRET_KEY", "AGENTDECK_DATABASE__URL"} & set(config["data"])
    # the RoleBinding names the release's own service account
    (binding,) = kinds["RoleBinding"]
    (account,) = kinds["ServiceAccount"]
    assert binding["subjects"][0]["name"] == account["metadata"]["name"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def test_environment_is_real_settings_a_replica_accepts(
    chart: Chart, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinds = by_kind(render(chart, SCALE_OUT))
    env = dict(kinds["ConfigMap"][0]["data"])
    (secret,) = kinds["Secret"]
    assert unknown_settings(env) == []
    env["AGENTDECK_SECRET_KEY"] = secret["stringData"]["secret-key"]
    env["AGENTDECK_DATABASE__URL"] = secret["stringData"]["database-url"]
    settings = settings_from_env(env, monkeypatch)
    assert settings.environment.value == "production"
    assert settings.tsdb.backend.value == "victoriametrics"
    assert settings.tsdb.victoriametrics_url == "http://victoriametrics:8428"
    assert settings.logs.backend.value == "clickhouse"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.fleet.driver.value == "kubernetes"
    assert settings.fleet.kubernetes.in_cluster is True
    assert settings.server.trusted_proxies == ["10.0.0.0/8"]


def test_chart_rbac_is_the_documented_rbac(chart: Chart) -> None:
    kinds = by_kind(render(chart, SCALE_OUT))
    documented = [
        d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "rbac.yaml").read_text()) if d
    ]
    (role,) = [d for d in documented if d["kind"] == "Role"]
    assert kinds["Role"][0]["rules"] == role["rules"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {**SCALE_OUT, "secretKey": {"value": ""}}, "no default secret key", id="no-secret-key"
        ),
        pytest.param({**SCALE_OUT, "database": {"url": ""}}, "set database.url", id="no-database"),
        pytest.param({**SCALE_OUT, "redis": {"url": ""}}, "set redis.url", id="no-redis"),
        pytest.param(
            {**SCALE_OUT, "metricsStore": {"backend": "duckdb"}},
            "metricsStore.backend=victoriametrics",
            id="duckdb-metrics-with-replicas",
        ),
        pytest.param(
            {**SCALE_OUT, "logStore": {"backend": "duckdb"}},
            "logStore.backend=clickhouse",
            id="duckdb-logs-with-replicas",
        ),
        pytest.param(
            {**SCALE_OUT, "persistence": {"enabled": True}},
            "persistence is for one replica",
            id="volume-with-replicas",
        ),
    ],
)
def test_settings_that_cannot_work_refuse_to_render(
    chart: Chart, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message):
        chart.render(values, name="ops", namespace="agentdeck")


def test_an_existing_secret_is_used_and_none_is_created(chart: Chart) -> None:
    values = {
        **SCALE_OUT,
        "secretKey": {"existingSecret": "ops-keys", "existingSecretKey": "key"},
        "database": {"existingSecret": "ops-db", "existingSecretKey": "url"},
    }
    kinds = by_kind(render(chart, values))
    assert "Secret" not in kinds
    (container,) = kinds["Deployment"][0]["spec"]["template"]["spec"]["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert refs["AGENTDECK_SECRET_KEY"] == {"name": "ops-keys", "key": "key"}
    assert refs["AGENTDECK_DATABASE__URL"] == {"name": "ops-db", "key": "url"}
