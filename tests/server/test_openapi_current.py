"""The committed OpenAPI document and the web client generated from it match the app."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "run `uv run python scripts/dump_openapi.py && cd web && npm run gen:api`"


def _dump_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dump_openapi", ROOT / "scripts/dump_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_openapi_document_is_current() -> None:
    dump = _dump_module()
    expected = dump.render(dump.openapi_document())
    committed = (ROOT / "web/openapi.json").read_text(encoding="utf-8")
    assert committed == expected, f"web/openapi.json is stale: {REGENERATE}"


def test_generated_client_types_match_the_document() -> None:
    document = (ROOT / "web/openapi.json").read_bytes()
    schema = (ROOT / "web/src/api/schema.d.ts").read_text(encoding="utf-8")
    found = re.search(r"openapi\.json sha256: ([0-9a-f]{64})", schema)
    assert found is not None, f"web/src/api/schema.d.ts has no source digest: {REGENERATE}"
    digest = hashlib.sha256(document).hexdigest()
    assert found.group(1) == digest, f"web/src/api/schema.d.ts is stale: {REGENERATE}"
