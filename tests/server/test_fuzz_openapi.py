"""Schemathesis against the served OpenAPI document, as an admin: every operation gets
generated requests, valid and invalid; no answer is a server error, and every error answer is
a problem+json document (the Prometheus query API's own error shape where it answers one).

A real uvicorn on a free port (in this test's event loop) serves the app; the `st` command
runs in a subprocess with a fixed seed, the schema's examples and a few generated requests per
operation, and an overall deadline. Left out for time: the coverage phase (deterministic
boundary and wrong-type values; over 3 minutes alone on a loaded 2-core machine, and once
tripped CPython 3.11.7's "AST constructor recursion depth mismatch" inside Hypothesis) and the
stateful phase (chains of calls, which would also send test notifications to the URLs it
generates). One worker: CPython 3.11.7's AST constructor keeps its recursion depth in state shared
between threads (cpython gh-106905), so two workers describing Hypothesis lambdas at once can
fail the run with "AST constructor recursion depth mismatch". For a deeper run by hand:
`st run URL/openapi.json -H "X-API-Key: ..." -c not_a_server_error,problem_json_errors` with
`SCHEMATHESIS_HOOKS` pointing at tests/server/schemathesis_hooks.py.
The background loops are off (nothing fetches the URLs the fuzzer stores) and so are the rate
limits (they would turn most of the run into 429s). It runs in the SQLite pass only: the
routes are the same on PostgreSQL, and twice the fuzzing would double the cost.

No operation is excluded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import uvicorn

from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from agentdeck.settings import Settings
from tests.conftest import Factory

pytestmark = pytest.mark.sqlite_only

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
MAX_EXAMPLES = 10  # per operation
RUN_DEADLINE_S = 240.0
SEED = 20261207


@contextlib.asynccontextmanager
async def _serving(settings: Settings) -> contextlib.AsyncIterator[str]:
    app = create_app(settings, run_migrations=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(60):
            while not server.started:  # a condition, polled under a deadline
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _st() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent))
    assert found, "the schemathesis command (st) is not installed: uv sync"
    return found


@pytest.mark.timeout(RUN_DEADLINE_S + 90)
async def test_no_server_errors_and_errors_are_problems(
    settings_factory: Callable[..., Settings], factory: Factory, tmp_path: Path
) -> None:
    admin = await factory.api_key(Role.admin)
    assert admin.api_key is not None
    settings = settings_factory(loops={"enabled": False}, rate_limit={"enabled": False})
    async with _serving(settings) as url:
        process = await asyncio.create_subprocess_exec(
            _st(),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"X-API-Key: {admin.api_key}",
            "--checks",
            "not_a_server_error,problem_json_errors",
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--no-color",
            "--output-truncate",
            "true",
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "NO_COLOR": "1"},
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), RUN_DEADLINE_S)
        except TimeoutError:
            process.kill()
            output, _ = await process.communicate()
            pytest.fail(f"schemathesis ran past {RUN_DEADLINE_S}s:\n{output.decode()[-20000:]}")
    assert process.returncode == 0, output.decode()[-20000:]
