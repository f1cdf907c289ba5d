"""Prometheus rule files: import with per-rule errors and dry run, export as YAML, round trip,
and the exported file accepted by Prometheus's own `promtool check rules`."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import yaml

from agentdeck.identity.roles import Role
from tests.alerting.rules_support import RULES
from tests.conftest import Factory

# A rule file as people write them for Prometheus (block scalars, templates, keep_firing_for).
RULE_FILE = """\
groups:
  - name: agents
    interval: 30s
    rules:
      - alert: AgentDown
        expr: up{job="agents"} == 0
        for: 2m
        labels:
          severity: critical
          team: platform
        annotations:
          summary: "{{ $labels.instance }} is down"
          description: |
            {{ $labels.instance }} of job {{ $labels.job }} has been down
            for more than 2 minutes.
      - alert: HighErrorRate
        expr: |
          sum by (agent) (rate(agent_errors_total[5m]))
            / sum by (agent) (rate(agent_requests_total[5m])) > 0.05
        for: 10m
        keep_firing_for: 5m
        labels:
          severity: warning
        annotations:
          summary: 'Error rate of {{ $labels.agent }} is {{ $value | humanizePercentage }}'
  - name: tokens
    rules:
      - alert: TokenBurn
        expr: sum(rate(agent_tokens_total[1h])) > 1e6
"""

BAD_RULES = """\
groups:
  - name: mixed
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Broken
        expr: sum(rate(foo[5m])
      - alert: WrongSeverity
        expr: up == 0
        labels: {severity: page}
      - alert: BadFor
        expr: up == 0
        for: ten minutes
      - alert: BadTemplate
        expr: up == 0
        annotations: {summary: "{{ .Foo }}"}
      - alert: Fine
        expr: up == 0
"""


async def _import(
    client: httpx.AsyncClient, headers: dict[str, str], content: str, **options: object
) -> httpx.Response:
    return await client.post(
        f"{RULES}/import", json={"content": content, **options}, headers=headers
    )


async def test_import_then_export_round_trip(
    client: httpx.AsyncClient, factory: Factory, tmp_path: Path
) -> None:
    dev = await factory.user(Role.developer)
    response = await _import(client, dev.headers, RULE_FILE)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == ["AgentDown", "HighErrorRate", "TokenBurn"]
    assert response.json()["errors"] == []

    rules = {r["name"]: r for r in (await client.get(RULES, headers=dev.headers)).json()["items"]}
    down = rules["AgentDown"]
    assert (down["group"], down["interval_seconds"], down["for_seconds"]) == ("agents", 30, 120)
    assert down["severity"] == "critical" and down["labels"] == {"team": "platform"}
    assert rules["HighErrorRate"]["keep_firing_for_seconds"] == 300
    assert rules["TokenBurn"]["severity"] == "warning"  # no severity label: the default
    assert rules["TokenBurn"]["interval_seconds"] == 60

    export = await client.get(f"{RULES}/export", headers=dev.headers)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/yaml")
    assert "attachment" in export.headers["content-disposition"]
    original = yaml.safe_load(RULE_FILE)
    exported = yaml.safe_load(export.text)
    by_name = {g["name"]: g for g in exported["groups"]}
    assert by_name["agents"]["interval"] == "30s"
    for group in original["groups"]:
        for before, after in zip(group["rules"], by_name[group["name"]]["rules"], strict=True):
            assert after["alert"] == before["alert"]
            assert after["expr"].strip() == before["expr"].strip()
            assert after.get("for") == before.get("for")
            assert after.get("keep_firing_for") == before.get("keep_firing_for")
            assert after["labels"] == before.get("labels", {"severity": "warning"})
            assert after.get("annotations") == before.get("annotations")

    # Importing the export into another tenant gives the same rules.
    other = await factory.user(Role.developer)
    again = await _import(client, other.headers, export.text)
    assert again.json()["created"] == ["AgentDown", "HighErrorRate", "TokenBurn"]
    copied = {
        r["name"]: r for r in (await client.get(RULES, headers=other.headers)).json()["items"]
    }
    keys = ("expr", "for_seconds", "keep_firing_for_seconds", "severity", "labels", "annotations")
    for name, rule in rules.items():
        assert {k: copied[name][k] for k in keys} == {k: rule[k] for k in keys}

    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is missing: run scripts/test-deps.sh"
    path = tmp_path / "rules.yml"
    path.write_text(export.text)
    process = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "rules",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    assert "3 rules found" in output.decode()


async def test_import_reports_each_bad_rule_and_keeps_the_good(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    dev = await factory.user(Role.developer)
    dry = await _import(client, dev.headers, BAD_RULES, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["created"] == ["Fine"]
    assert (await client.get(RULES, headers=dev.headers)).json()["items"] == []

    result = (await _import(client, dev.headers, BAD_RULES)).json()
    assert result["created"] == ["Fine"]
    errors = {e["name"]: e for e in result["errors"]}
    assert set(errors) == {"job:up:sum", "Broken", "WrongSeverity", "BadFor", "BadTemplate"}
    assert errors["job:up:sum"]["message"] == "recording rules are not supported"
    assert errors["Broken"]["field"] == "expr" and "parse error" in errors["Broken"]["message"]
    assert errors["WrongSeverity"]["field"] == "labels.severity"
    assert "duration" in errors["BadFor"]["message"]
    assert "annotation 'summary'" in errors["BadTemplate"]["message"]
    assert errors["BadFor"]["group"] == "mixed" and errors["BadFor"]["index"] == 3
    assert [r["name"] for r in (await client.get(RULES, headers=dev.headers)).json()["items"]] == [
        "Fine"
    ]


async def test_conflicts_skip_or_replace(client: httpx.AsyncClient, factory: Factory) -> None:
    dev = await factory.user(Role.developer)
    await _import(client, dev.headers, RULE_FILE)
    changed = RULE_FILE.replace("for: 2m", "for: 7m")
    skipped = (await _import(client, dev.headers, changed)).json()
    assert skipped["skipped"] == ["AgentDown", "HighErrorRate", "TokenBurn"]
    replaced = (await _import(client, dev.headers, changed, on_conflict="replace")).json()
    assert replaced["replaced"] == ["AgentDown", "HighErrorRate", "TokenBurn"]
    rules = (await client.get(RULES, params={"q": "AgentDown"}, headers=dev.headers)).json()
    assert rules["items"][0]["for_seconds"] == 420


async def test_not_a_rule_file(client: httpx.AsyncClient, factory: Factory) -> None:
    dev = await factory.user(Role.developer)
    for content in ("groups: [", "rules: []", "- a\n- b"):
        response = await _import(client, dev.headers, content)
        assert response.status_code == 400, content
        assert response.json()["errors"][0]["loc"] == ["body", "content"]
    viewer = await factory.user(Role.viewer)
    assert (await _import(client, viewer.headers, RULE_FILE)).status_code == 403
