"""deploy/compose.yaml and its nginx config: checked by the tools that read them (Debian's
docker-compose validates the file against its schema offline; nginx -t parses the config).
No container runs here (no Docker engine): docs/deploy.md says what was not run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.helpers import DEPLOY, settings_from_env, unknown_settings

COMPOSE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx" / "agentdeck.conf"
SECRETS = {"AGENTDECK_SECRET_KEY": "s" * 48, "POSTGRES_PASSWORD": "pg-password"}


def _tool(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if path is None:
        pytest.fail(f"{name} is not installed: scripts/test-deps.sh installs it")
    return path


def _compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [_tool("docker-compose"), "-f", str(COMPOSE), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid_and_resolves() -> None:
    result = _compose("config", env=SECRETS)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    assert set(config["services"]) == {
        "agentdeck-1",
        "agentdeck-2",
        "nginx",
        "postgres",
        "redis",
        "victoriametrics",
        "clickhouse",
    }
    # the proxy is the only thing published, on loopback
    published = [s for s in config["services"].values() if s.get("ports")]
    assert len(published) == 1 and "127.0.0.1" in str(published[0]["ports"])


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(missing: str) -> None:
    env = {k: v for k, v in SECRETS.items() if k != missing}
    result = _compose("config", "-q", env=env)
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def test_replicas_run_with_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _compose("config", env=SECRETS)
    config = yaml.safe_load(result.stdout)
    env = {k: str(v) for k, v in config["services"]["agentdeck-1"]["environment"].items()}
    assert unknown_settings(env) == []
    settings = settings_from_env(env, monkeypatch)
    assert settings.environment.value == "production"
    assert settings.database.url.startswith("postgresql+asyncpg://agentdeck:pg-password@")
    assert settings.tsdb.backend.value == "victoriametrics"
    assert settings.logs.backend.value == "clickhouse"
    assert settings.redis_url == "redis://redis:6379/0"
    assert "172.16.0.0/12" in settings.server.trusted_proxies


def test_nginx_config_parses(tmp_path: Path) -> None:
    # the compose service names resolve only inside compose: point them at loopback here
    conf = NGINX_CONF.read_text()
    conf = conf.replace("agentdeck-1:8000", "127.0.0.1:18001").replace(
        "agentdeck-2:8000", "127.0.0.1:18002"
    )
    (tmp_path / "agentdeck.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}; "
        f"include {tmp_path}/agentdeck.conf; }}\n"
    )
    result = subprocess.run(
        [_tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
