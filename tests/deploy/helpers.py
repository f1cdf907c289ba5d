"""Shared checks of the deployment files: their environment must be real agentdeck settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from agentdeck.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def settings_from_env(env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a replica given exactly ``env`` would run with (nothing else leaks in)."""
    import os

    for name in list(os.environ):
        if name.startswith("AGENTDECK_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def unknown_settings(env: Mapping[str, str]) -> list[str]:
    """``AGENTDECK_*`` names in ``env`` that name no setting (pydantic-settings ignores those
    silently, so a typo would go unnoticed in a deployment)."""
    unknown = []
    for name in env:
        if not name.startswith("AGENTDECK_"):
            continue
        path = name.removeprefix("AGENTDECK_").lower().split("__")
        model: type | None = Settings
        for part in path:
            fields = getattr(model, "model_fields", None)
            if fields is None or part not in fields:
                unknown.append(name)
                break
            annotation = fields[part].annotation
            model = annotation if isinstance(annotation, type) else None
    return unknown
