"""`pip install agentdeck` as a user gets it: the wheels (server with the built UI, and the SDK)
install into a fresh virtual environment with nothing of this checkout, and the installed
`agentdeck serve` serves the web UI and its assets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import agentdeck
from tests.e2e.conftest import STATIC_INDEX, _free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 240


def _uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(Path.home() / ".local/bin/uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("uv is needed to make the fresh environment (scripts/ensure-uv.sh installs it)")


def _run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the two wheels (and their dependencies) installed."""
    assert STATIC_INDEX.is_file(), "the UI must be built first (make ui)"
    home = tmp_path_factory.mktemp("wheel")
    dist = home / "dist"
    build = [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)]
    _run(*build)
    _run(*build, cwd=ROOT / "sdk")
    venv = home / "venv"
    # outside the project, so nothing of the checkout (its workspace, its lock) is used
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    _run(_uv(), "venv", "-q", "--python", sys.executable, str(venv), cwd=home, env=clean)
    wheels = sorted(str(p) for p in dist.glob("*.whl"))
    assert len(wheels) == 2, wheels
    _run(
        _uv(),
        "pip",
        "install",
        "-q",
        "--python",
        str(venv / "bin" / "python"),
        *wheels,
        cwd=home,
        env=clean,
    )
    return venv


def test_installed_version_is_the_package_version(installed: Path) -> None:
    out = _run(str(installed / "bin" / "agentdeck"), "version", cwd=installed)
    # the version of the wheel built from this checkout (its file name carries it) ...
    (wheel,) = (installed.parent / "dist").glob("agentdeck-*.whl")
    built = wheel.name.split("-")[1]
    assert built in out.split()
    # ... is the checkout's git version: this commit's abbreviated hash (a clean tag has none)
    head = _run("git", "rev-parse", "HEAD").strip()
    local = re.search(r"\+g([0-9a-f]+)", built)
    if local is None:  # a tagged commit: exactly the tag's version, as the checkout reports it
        assert built == agentdeck.__version__
    else:
        assert head.startswith(local.group(1)), (built, head)
    # the SDK is its own distribution, importable without the server's checkout
    code = "import agentdeck_sdk, agentdeck; print(agentdeck.__file__)"
    where = _run(str(installed / "bin" / "python"), "-c", code, cwd=installed)
    assert str(installed) in where and str(ROOT / "src") not in where


@pytest.fixture
def served(installed: Path, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
        "AGENTDECK_ENV_FILE": str(tmp_path / "no.env"),
        "AGENTDECK_DATA_DIR": str(tmp_path / "data"),
        "AGENTDECK_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'state.db'}",
        "AGENTDECK_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [str(installed / "bin" / "agentdeck"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)  # polling a readiness probe, not synchronising on time
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_installed_server_serves_the_ui(served: str) -> None:
    page = httpx.get(f"{served}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
    assert assets, page.text[:500]
    for asset in assets:
        answer = httpx.get(f"{served}{asset}", timeout=10)
        assert answer.status_code == 200, asset
    # a client-side route is the same app, not a 404
    deep = httpx.get(f"{served}/alerts", timeout=10)
    assert deep.status_code == 200 and deep.text == page.text
