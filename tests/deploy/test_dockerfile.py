"""The Dockerfile, read instruction by instruction (no Docker engine runs here to build it):
multi-stage, an unprivileged runtime with a health check, sources that exist and are not
ignored, and an environment that is real settings with no default secret."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from tests.deploy.helpers import ROOT, settings_from_env, unknown_settings

DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def stages() -> list[Stage]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arg = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = arg.split()
            out.append(Stage(parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else ""))
        elif out:
            out[-1].instructions.append((keyword, arg.strip()))
    return out


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for arg in stage.all("ENV"):
        for pair in shlex.split(arg):
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def test_multi_stage_ui_then_wheels_then_runtime() -> None:
    names = [s.name for s in stages()]
    assert names == ["ui", "wheels", "runtime"]
    runtime = stages()[-1]
    assert any("--from=wheels" in c for c in runtime.all("COPY"))
    assert not any("npm" in r for r in runtime.all("RUN")), "no build tools in the runtime"


def test_runtime_is_unprivileged_with_a_health_check() -> None:
    runtime = stages()[-1]
    (user,) = runtime.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    (check,) = runtime.all("HEALTHCHECK")
    assert "/healthz" in check
    assert runtime.all("EXPOSE") == ["8000"]
    assert json.loads(runtime.all("ENTRYPOINT")[0]) == ["agentdeck"]


def _ignored(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def test_copied_sources_exist_and_are_not_ignored() -> None:
    patterns = [
        p.strip()
        for p in (ROOT / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    for stage in stages():
        for arg in stage.all("COPY"):
            parts = [p for p in arg.split() if not p.startswith("--")]
            if "--from=" in arg:
                continue
            for source in parts[:-1]:
                rel = source.rstrip("/")
                assert (ROOT / rel).exists(), f"{stage.name}: COPY {source} does not exist"
                assert not _ignored(rel, patterns), f"{stage.name}: COPY {source} is ignored"
    # the context never carries local state or dependencies
    for local in (".venv", "web/node_modules", ".agentdeck", ".git"):
        assert _ignored(local, patterns), local


def test_runtime_environment_is_settings_and_needs_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = env_of(stages()[-1])
    agentdeck_env = {k: v for k, v in env.items() if k.startswith("AGENTDECK_")}
    assert unknown_settings(agentdeck_env) == []
    with pytest.raises(ValidationError, match="(?i)secret"):
        settings_from_env(agentdeck_env, monkeypatch)
    settings = settings_from_env({**agentdeck_env, "AGENTDECK_SECRET_KEY": "k" * 48}, monkeypatch)
    assert settings.server.host == "0.0.0.0"
    assert str(settings.data_dir) == "/data"
    assert settings.database.url == "sqlite+aiosqlite:////data/state.db"
