"""``agentdeck-sdk`` installs on its own: a fresh venv gets httpx and nothing of the server.

The wheel is built from ``sdk/`` with hatchling, httpx and its dependencies come into the venv
from ``uv.lock`` (offline, from the uv cache ``make venv`` filled), and the wheel is then
installed with a resolver that sees only an empty cache: a new dependency of the SDK fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.sdk.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = ["agentdeck", "duckdb", "pyarrow", "fastapi", "uvicorn", "sqlalchemy"]

# Runs inside the fresh venv: what is importable, the installed metadata, one real send.
PROBE = """
import importlib.metadata, importlib.util, json, sys

import agentdeck_sdk
from agentdeck_sdk import Client

url, api_key, absent = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
with Client(url, api_key, agent="dist-check", flush_interval=60) as client:
    client.gauge("sdk_dist_gauge", 7)
    flushed = client.flush(timeout=20)
print(json.dumps({
    "file": agentdeck_sdk.__file__,
    "version": agentdeck_sdk.__version__,
    "requires": importlib.metadata.requires("agentdeck-sdk"),
    "importable": [name for name in absent if importlib.util.find_spec(name) is not None],
    "flushed": flushed,
    "sent": client.sent_samples,
    "rejected": client.rejected_samples,
}))
"""


def _run(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=40)
    assert result.returncode == 0, f"{args[:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.sqlite_only  # no database of its own: once per `make test` is enough
def test_sdk_installs_alone_and_sends(
    tmp_path: Path, live_server: LiveServer, sdk_key: tuple[str, uuid.UUID]
) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to build the test venv (make venv installs it)"
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}

    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-t", "sdist", "-d", str(dist)],
        env,
        ROOT / "sdk",
    )
    (wheel,) = dist.glob("agentdeck_sdk-*-py3-none-any.whl")
    (sdist,) = dist.glob("agentdeck_sdk-*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {"agentdeck_sdk/__init__.py", "agentdeck_sdk/client.py", "agentdeck_sdk/py.typed"}
    assert shipped <= names
    assert not [n for n in names if n.startswith("agentdeck/")]
    with tarfile.open(sdist) as archive:
        assert any(n.endswith("/README.md") for n in archive.getnames())

    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    _run(
        [uv, "venv", "--quiet", "--no-project", "--python", sys.executable, str(venv)],
        env,
        tmp_path,
    )
    deps = ["--frozen", "--offline", "--no-dev", "--package", "agentdeck-sdk"]
    _run(
        [uv, "sync", "--quiet", *deps, "--no-install-workspace"],
        {**env, "UV_PROJECT_ENVIRONMENT": str(venv)},
        ROOT,
    )
    cold = {**env, "UV_CACHE_DIR": str(tmp_path / "empty-cache")}
    _run([uv, "pip", "install", "--offline", "--python", str(python), str(wheel)], cold, tmp_path)

    api_key, tenant = sdk_key
    live_server.start()
    out = _run(
        [str(python), "-I", "-c", PROBE, live_server.url, api_key, ",".join(SERVER_ONLY)],
        env,
        tmp_path,
    )
    probe = json.loads(out)
    assert Path(probe["file"]).is_relative_to(venv)
    assert wheel.name == f"agentdeck_sdk-{probe['version']}-py3-none-any.whl"
    assert probe["requires"] == ["httpx>=0.27"]
    assert probe["importable"] == []
    assert probe["flushed"] is True
    assert (probe["sent"], probe["rejected"]) == (1, 0)
    assert live_server.series(tenant)[("sdk_dist_gauge", (("agent", "dist-check"),))] == [7.0]
