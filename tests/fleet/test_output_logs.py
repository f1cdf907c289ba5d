"""What a supervised replica prints is searchable in the logs, filed under its agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Caller
from tests.fleet.conftest import FAST_FLEET, AppFactory
from tests.fleet.helpers import act, create_agent, eventually, wait_status


async def _lines(client: httpx.AsyncClient, caller: Caller, query: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/logs", params={"query": query, "limit": 100}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_replica_output_reaches_the_logs_with_agent_replica_and_stream(
    fleet_client: httpx.AsyncClient, dev: Caller, viewer: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"], name="chatty")
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)

    lines = await eventually(
        lambda: _lines(fleet_client, viewer, '{agent="chatty"}'),
        lambda items: {item["labels"].get("stream") for item in items} >= {"stdout", "stderr"},
    )
    for item in lines:
        assert item["service"] == "chatty" and item["agent"] == "chatty"
        assert item["labels"]["agent_id"] == created["id"]
        assert item["labels"]["replica"].startswith("chatty-")
        assert item["labels"]["version"] == created["version"]
        expected = "ERROR" if item["labels"]["stream"] == "stderr" else "INFO"
        assert item["severity"] == expected
    stdout = await _lines(fleet_client, viewer, '{agent="chatty", stream="stdout"} |= "hello"')
    assert stdout and all(item["message"].startswith("hello") for item in stdout)
    await act(fleet_client, dev, created["id"], "stop")


#: Prints one very long line and 3,000 numbered lines at once, then serves.
FLOOD = """
import http.server, os, sys
print("x" * 5000)
for i in range(3000):
    print(f"line {i}")
sys.stdout.flush()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


async def _all(client: httpx.AsyncClient, caller: Caller, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"query": query, "limit": 1000}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/logs", params=params, headers=caller.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def test_a_flooding_replica_is_rate_capped_with_the_drops_counted_and_said(
    app_factory: AppFactory, dev: Caller, viewer: Caller, tmp_path: Path
) -> None:
    client = await app_factory(
        fleet={
            **FAST_FLEET,
            "log_lines_per_second": 20,
            "log_lines_burst": 100,
            "log_line_max_bytes": 1000,
        }
    )
    program = tmp_path / "flood.py"
    program.write_text(FLOOD)
    created = await create_agent(client, dev, program, name="flood", health_path="/")
    await act(client, dev, created["id"], "start")
    await wait_status(client, dev, created["id"], "running", ready=1)

    def complete(items: list[dict[str, Any]]) -> bool:
        kept = [i for i in items if i["severity"] == "INFO"]
        dropped = sum(_dropped(i["message"]) for i in items if i["severity"] == "WARNING")
        return len(kept) + dropped == 3001

    items = await eventually(
        lambda: _all(client, viewer, '{agent="flood"}'), complete, what="every line accounted"
    )
    kept = [i for i in items if i["severity"] == "INFO"]
    notices = [i for i in items if i["severity"] == "WARNING"]
    # the burst passes, most of the flood does not, and the replica's notice says so
    assert 100 <= len(kept) < 1000 and notices
    assert notices[0]["labels"]["replica"] == kept[0]["labels"]["replica"]
    assert "fleet.log_lines_per_second = 20 per second" in notices[0]["message"]
    numbered = [int(i["message"].split()[1]) for i in kept if i["message"].startswith("line ")]
    assert sorted(numbered)[:99] == list(range(99))  # the burst: the first lines
    (long,) = [i for i in kept if i["message"].startswith("xxx")]
    assert long["message"] == "x" * 1000  # cut to fleet.log_line_max_bytes
    metrics = (await client.get("/metrics")).text
    line = next(
        x
        for x in metrics.splitlines()
        if x.startswith('agentdeck_log_lines_rejected_total{reason="fleet_rate_limit"}')
    )
    assert float(line.split()[-1]) == 3001 - len(kept)
    await act(client, dev, created["id"], "stop")


def _dropped(message: str) -> int:
    words = message.split()
    return int(words[1]) if message.startswith("agentdeck: ") and words[1].isdigit() else 0
