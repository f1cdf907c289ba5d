"""The version comes from the git tag: a tagged commit is that release, a commit after it a dev
release of the next one, and a fresh clone without any tag (CI's shallow checkout) still builds,
with a dev version naming the commit. `agentdeck version` and `/api/v1/info` print the same."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from importlib.metadata import version as dist_version
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agentdeck.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
GIT_ID = ["-c", "user.name=test", "-c", "user.email=test@example.test", "-c", "tag.gpgSign=false"]


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"git {args}: {result.stderr}"
    return result.stdout.strip()


def _hatch_version(project: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "version"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh shallow clone of this commit, as CI makes it: no tag is reachable."""
    dest = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", ROOT.as_uri(), str(dest))
    assert _git(dest, "tag", "--list") == ""
    return dest


def test_without_a_tag_the_version_is_a_dev_release_naming_the_commit(clone: Path) -> None:
    version = _hatch_version(clone)
    match = re.fullmatch(r"0\.0\.1\.dev\d+\+g([0-9a-f]{7,})", version)
    assert match, version
    assert _git(clone, "rev-parse", "HEAD").startswith(match.group(1))


def test_a_release_tag_is_the_version_and_later_commits_are_dev_releases(clone: Path) -> None:
    _git(clone, "tag", "-a", "v1.4.0", "-m", "release 1.4.0")
    assert _hatch_version(clone) == "1.4.0"

    (clone / "CHANGES.txt").write_text("after the release\n")
    _git(clone, "add", "CHANGES.txt")
    _git(clone, "commit", "-q", "-m", "after the release")
    after = _hatch_version(clone)
    sha = _git(clone, "rev-parse", "HEAD")
    match = re.fullmatch(r"1\.4\.1\.dev1\+g([0-9a-f]{7,})", after)
    assert match and sha.startswith(match.group(1)), after


def test_the_wheel_of_a_tagged_commit_carries_the_tag(clone: Path) -> None:
    _git(clone, "tag", "-a", "v2.0.1", "-m", "release 2.0.1")
    static = clone / "src" / "agentdeck" / "server" / "static"  # ignored by git: not dirty
    static.mkdir(parents=True, exist_ok=True)
    (static / "index.html").write_text("<!doctype html><title>agentdeck</title>")
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(clone / "dist")],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (clone / "dist").glob("agentdeck-*.whl")
    assert wheel.name.startswith("agentdeck-2.0.1-")
    names = zipfile.ZipFile(wheel).namelist()
    (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
    assert "\nVersion: 2.0.1\n" in zipfile.ZipFile(wheel).read(metadata).decode()


def test_agentdeck_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == dist_version("agentdeck")


async def test_the_info_endpoint_reports_the_same_version(client: httpx.AsyncClient) -> None:
    cli = CliRunner().invoke(app, ["version"]).output.strip()
    answer = await client.get("/api/v1/info")
    assert answer.status_code == 200
    assert answer.json()["version"] == cli
