"""Write the API's OpenAPI document to web/openapi.json (the web client is generated from it).

Usage: ``uv run python scripts/dump_openapi.py && cd web && npm run gen:api``.
``--check`` exits 1 when the committed file differs from what the app produces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "web" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    from agentdeck.app.factory import create_app
    from agentdeck.settings import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    document: dict[str, Any] = create_app(settings, run_migrations=False).openapi()
    # The package version comes from git (every commit has its own), so the committed document
    # names none; the served /openapi.json carries the running server's version.
    document["info"]["version"] = "current"
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(openapi_document())
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        return 0 if current == text else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
