"""The wheel ships the built UI (a wheel without it is refused) and depends on agentdeck-sdk."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _copy_project(dest: Path) -> Path:
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "src",
        dest / "src",
        ignore=shutil.ignore_patterns("static", "__pycache__"),
    )
    return dest


def _build(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(project / "dist")],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_wheel_without_the_ui_fails_to_build(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    result = _build(project)
    assert result.returncode != 0
    assert "the web UI is not built" in result.stdout + result.stderr
    assert not list(project.glob("dist/*.whl"))


def test_wheel_ships_the_built_ui(tmp_path: Path) -> None:
    project = _copy_project(tmp_path)
    static = project / "src" / "agentdeck" / "server" / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>agentdeck</title>")
    (static / "assets" / "app.js").write_text("console.log('ui')")
    result = _build(project)
    assert result.returncode == 0, result.stderr
    (wheel,) = (project / "dist").glob("agentdeck-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "agentdeck/server/static/index.html" in names
    assert "agentdeck/server/static/assets/app.js" in names
    assert "agentdeck/db/migrations/versions/0001_initial_schema.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    assert not [n for n in names if n.startswith(("agentdeck_sdk/", "agentdeck/sdk/"))]
    (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line.removeprefix("Requires-Dist: ")
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist: ")
    ]
    assert "agentdeck-sdk>=0.1.0" in requires
