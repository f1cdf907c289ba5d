"""docs/configuration.md is generated from the Settings model and must be current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel

from agentdeck.docs_config import SECRET_DEFAULT, render
from agentdeck.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _env_names(model: type[BaseModel], prefix: str = "AGENTDECK_") -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_configuration_doc_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date with agentdeck.settings: run `make docs-config` "
        "and commit the result"
    )


def test_every_setting_is_documented_once() -> None:
    text = render()
    names = _env_names(Settings)
    assert "AGENTDECK_SERVER__PORT" in names
    assert "AGENTDECK_RATE_LIMIT__LOGIN_FAILURES" in names
    for name in names:
        assert text.count(f"| `{name}` |") == 1, name


def test_rows_carry_type_default_and_description() -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in render().splitlines()}
    port = rows["AGENTDECK_SERVER__PORT"]
    assert "integer" in port and "`8000`" in port and "TCP port" in port and "65535" in port
    secret = rows["AGENTDECK_SECRET_KEY"]
    assert SECRET_DEFAULT in secret and "secret string" in secret
    assert "secret.key" in secret and "PostgreSQL" in secret
    assert "`development`, `test`, `production`" in rows["AGENTDECK_ENVIRONMENT"]
    assert "comma-separated" in rows["AGENTDECK_SERVER__CORS_ORIGINS"]
    assert "(unset)" in rows["AGENTDECK_REDIS_URL"]
    assert "`60/minute;1000/hour`" in rows["AGENTDECK_RATE_LIMIT__WRITE"]


def _groups(model: type[BaseModel], path: str = "") -> list[str]:
    """Every nested settings group, depth first (``fleet``, then ``fleet.kubernetes``)."""
    found = []
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            dotted = f"{path}.{name}" if path else name
            found += [dotted, *_groups(sub, dotted)]
    return found


def test_sections_follow_the_model() -> None:
    headings = [line for line in render().splitlines() if line.startswith("## ")]
    assert headings == ["## General", *[f"## `{name}`" for name in _groups(Settings)]]


def test_module_prints_the_same_document_whatever_the_environment(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AGENTDECK_SERVER__PORT": "9999",
        "AGENTDECK_ENVIRONMENT": "production",
        "AGENTDECK_SECRET_KEY": "s" * 40,
    }
    result = subprocess.run(
        [sys.executable, "-m", "agentdeck.docs_config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=30,
    )
    assert result.stdout == render()
    assert "9999" not in result.stdout
