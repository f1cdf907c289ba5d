"""Hatch build hook: a wheel without the built web UI is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class UIPresentHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return  # a development install serves the UI from the work tree once built
        index = Path(self.root) / "src" / "agentdeck" / "server" / "static" / "index.html"
        if not index.is_file():
            raise RuntimeError(
                "the web UI is not built: run `make ui` (npm ci && npm run build in web/) "
                "before building the wheel"
            )
