"""The import layering of ``src/agentdeck`` (docs/architecture.md): no module imports upward.

Layers, bottom to top:

1. base: ``errors``, ``settings``, ``pagination``, ``tokenbucket``, ``context``, ``outbound``,
   ``secret_key``, ``compression``, ``protodesc``
2. infrastructure: ``db`` (engine, base), ``bus``, ``loops``, ``tsdb``, ``logstore``, ``ratelimit``
3. domains: every other package (``identity``, ``agents``, ``ingest``, ``scrape``, ``query``,
   ``overview``, ``alerting``, …) and ``crud``
4. the HTTP base: ``server`` (deps, problems, middleware, rate limits, ops, SPA)
5. routers: a domain's ``router.py`` / ``*_router.py``, which may use ``server``
6. composition: ``app``, ``cli``, ``docs_config``, the model registry and migrations

A module may import its own layer or any below. The SDK (``sdk/src/agentdeck_sdk``) is its own
distribution: it imports the standard library, httpx and itself, nothing of ``agentdeck``.
Run ``python tests/test_layers.py`` to list every violation.

``KNOWN_DEBT`` may hold upward imports accepted for a while, as ``(importer, imported)`` module
pairs (it is empty: the house restructuring removed the last). The check fails on any import
not listed, and on a listed one that is gone (so the list only shrinks).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "agentdeck"
SDK = ROOT / "sdk" / "src" / "agentdeck_sdk"
SDK_MAY_IMPORT = set(sys.stdlib_module_names) | {"httpx", "agentdeck_sdk"}

BASE = {
    "errors",
    "settings",
    "pagination",
    "tokenbucket",
    "context",
    "outbound",
    "secret_key",
    "compression",
    "protodesc",
    "__init__",
}
INFRA = {"db", "bus", "loops", "tsdb", "logstore", "ratelimit"}
COMPOSITION = {"app", "cli", "docs_config"}
LAYER_NAMES = {
    1: "base",
    2: "infrastructure",
    3: "domain",
    4: "server",
    5: "router",
    6: "composition",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of a dotted module name under ``agentdeck``."""
    parts = module.split(".")[1:]
    if not parts:
        return 1
    top, leaf = parts[0], parts[-1]
    if top in COMPOSITION or (top == "server" and leaf in {"app", "main"}):
        return 6
    if top == "db" and (len(parts) > 1 and parts[1] in {"migrations", "models"}):
        return 6
    if top in BASE:
        return 1
    if top in INFRA:
        return 2
    if top == "server":
        return 4
    if leaf == "router" or leaf.endswith("_router"):
        return 5
    return 3


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """Every ``agentdeck`` module a file imports (at any depth, TYPE_CHECKING included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "agentdeck":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "agentdeck":
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (SRC.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                is_package = (SRC.parent / candidate.replace(".", "/")).is_dir()
                yield (candidate if is_module or is_package else node.module), node.lineno


def violations() -> list[tuple[str, str, int, str]]:
    """``(importer, imported, line, reason)`` for every import that breaks the layering."""
    found: list[tuple[str, str, int, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        if "static" in path.parts:
            continue
        importer = module_name(path)
        own = layer_of(importer)
        for imported, line in sorted(set(imports_of(path))):
            theirs = layer_of(imported)
            if theirs > own:
                reason = f"{LAYER_NAMES[own]} imports {LAYER_NAMES[theirs]}"
                found.append((importer, imported, line, reason))
    return found


def top_level_imports(path: Path) -> Iterator[tuple[str, int]]:
    """The top-level package of every absolute import in a file (relative ones stay inside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0], node.lineno


def sdk_violations() -> list[tuple[str, str, int, str]]:
    """Imports of the SDK distribution beyond the standard library, httpx and itself."""
    return [
        (f"agentdeck_sdk.{path.stem}", top, line, "the SDK depends on httpx only")
        for path in sorted(SDK.rglob("*.py"))
        for top, line in sorted(set(top_level_imports(path)))
        if top not in SDK_MAY_IMPORT
    ]


KNOWN_DEBT: set[tuple[str, str]] = set()


def test_no_module_imports_a_higher_layer() -> None:
    found = {(a, b): (line, why) for a, b, line, why in violations()}
    new = sorted(set(found) - KNOWN_DEBT)
    assert not new, "upward imports:\n" + "\n".join(
        f"  {a} -> {b} (line {found[(a, b)][0]}: {found[(a, b)][1]})" for a, b in new
    )
    gone = sorted(KNOWN_DEBT - set(found))
    assert not gone, "paid-off debt still listed in KNOWN_DEBT:\n" + "\n".join(
        f"  {a} -> {b}" for a, b in gone
    )


def test_the_sdk_imports_nothing_of_agentdeck() -> None:
    """``pip install agentdeck-sdk`` brings httpx only, so the SDK may import nothing else."""
    assert list(SDK.glob("*.py")), f"no SDK sources under {SDK}"
    found = sdk_violations()
    assert not found, "the SDK imports beyond stdlib and httpx:\n" + "\n".join(
        f"  {a}:{line} -> {b}" for a, b, line, _ in found
    )


def test_the_sdk_check_sees_a_server_import(tmp_path: Path) -> None:
    """An SDK module importing the server package or a server dependency is found."""
    bad = tmp_path / "client.py"
    bad.write_text(
        "import httpx\nimport duckdb\nfrom agentdeck.settings import Settings\n"
        "from agentdeck_sdk._core import Backoff\nfrom . import aio\n",
        encoding="utf-8",
    )
    tops = {top for top, _ in top_level_imports(bad)}
    assert tops == {"httpx", "duckdb", "agentdeck", "agentdeck_sdk"}
    assert tops - SDK_MAY_IMPORT == {"duckdb", "agentdeck"}


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """A service importing the HTTP base is found (the check is not vacuous)."""
    bad = tmp_path / "service.py"
    bad.write_text("from agentdeck.server.errors import not_found\n", encoding="utf-8")
    assert [m for m, _ in imports_of(bad)] == ["agentdeck.server.errors"]
    assert layer_of("agentdeck.agents.service") < layer_of("agentdeck.server.errors")
    assert layer_of("agentdeck.agents.router") > layer_of("agentdeck.server.deps")
    assert layer_of("agentdeck.tsdb.retention") < layer_of("agentdeck.identity.service")


if __name__ == "__main__":
    rows = violations() + sdk_violations()
    for a, b, line, why in rows:
        print(f"{a}:{line} -> {b}  ({why})")  # noqa: T201
    print(f"{len(rows)} upward imports", file=sys.stderr)  # noqa: T201
