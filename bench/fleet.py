"""The local fleet driver: 50 replicas to ready, the supervisor's idle CPU, a rolling deploy.

The agent is a minimal HTTP program (the standard library's ``http.server`` answering
``/healthz``), 10 agents of 5 replicas each.

**Through a real server** (``agentdeck serve``, SQLite, default fleet settings, every loop on):

* 50 replicas ready: from the ``start`` calls of the 10 agents (sent at once) until the API
  says every agent is ``running`` with 5 ready. Target <= 20 s.
* supervisor CPU with 50 idle replicas: the server process's CPU time over ``--idle`` seconds
  (``/proc/<pid>/stat``), as % of one core, minus the same server's idle CPU before any agent
  ran (the reference: the other loops, the scraper, the evaluator, ...). Target < 2 %.
* rolling deploy of 5 replicas: from ``POST …/deployments`` (a new version, ``rolling``) until
  the deployment is ``completed`` (every replica replaced, one new ready before each old
  stops). Target <= 30 s.

**The driver alone** (``LocalDriver`` in this process, no server, no database): the same three
figures, the CPU being this whole process's (the driver is all it runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import Figure, machine
from bench._agentdeck import SERVERS, agentdeck_server

AGENTS = 10
REPLICAS = 5
READY_TARGET_S = 20.0
CPU_TARGET_PCT = 2.0
DEPLOY_TARGET_S = 30.0
TICKS = os.sysconf("SC_CLK_TCK")

PROGRAM = """
import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def cpu_seconds(pid: int) -> float:
    raw = Path(f"/proc/{pid}/stat").read_bytes()
    fields = raw[raw.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def idle_cpu_pct(pid: int, seconds: float) -> float:
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def until(check: Any, deadline: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > deadline:
            raise RuntimeError(f"{what}: not within {deadline} s")
        time.sleep(0.1)
    return time.monotonic() - started


# --- through a real server -----------------------------------------------------------------


def through_server(program: Path, idle: float) -> list[Figure]:
    with agentdeck_server("agentdeck-bench-fleet-", role="developer") as (url, key):
        server = SERVERS[url]
        headers = {"X-API-Key": key}
        client = httpx.Client(base_url=url, headers=headers, timeout=30)
        baseline = idle_cpu_pct(server.pid, idle)
        ids = []
        for n in range(AGENTS):
            created = client.post(
                "/api/v1/agents",
                json={
                    "name": f"bench-{n}",
                    "type": "custom",
                    "replica_count": REPLICAS,
                    "config": {
                        "command": sys.executable,
                        "args": [str(program)],
                        "health_path": "/healthz",
                    },
                },
            )
            created.raise_for_status()
            ids.append(created.json()["id"])
        started = time.monotonic()
        for ident in ids:
            client.post(f"/api/v1/agents/{ident}/start").raise_for_status()

        def all_ready() -> bool:
            page = client.get("/api/v1/agents", params={"limit": 100}).json()["items"]
            return (
                sum(a["health"]["replicas"]["ready"] for a in page if a["status"] == "running")
                == AGENTS * REPLICAS
            )

        until(all_ready, 120, "50 replicas ready")
        ready_s = time.monotonic() - started
        print(f"server: 50 replicas ready in {ready_s:.2f} s")
        busy = idle_cpu_pct(server.pid, idle)
        print(f"server: idle CPU {baseline:.2f} % without agents, {busy:.2f} % with 50 replicas")

        deployed = client.post(f"/api/v1/agents/{ids[0]}/deployments", json={"version": "2.0.0"})
        deployed.raise_for_status()
        ident = deployed.json()["id"]
        started = time.monotonic()
        until(
            lambda: client.get(f"/api/v1/deployments/{ident}").json()["status"] == "completed",
            120,
            "deployment completed",
        )
        deploy_s = time.monotonic() - started
        print(f"server: rolling deploy of 5 replicas in {deploy_s:.2f} s")
        for ident in ids:
            client.post(f"/api/v1/agents/{ident}/stop")
    return figures("server", ready_s, max(0.0, busy - baseline), deploy_s)


# --- the driver alone ----------------------------------------------------------------------


async def driver_alone(program: Path, idle: float) -> list[Figure]:
    from agentdeck.fleet.driver import Strategy, WorkloadSpec
    from agentdeck.fleet.local.driver import LocalDriver
    from agentdeck.settings import FleetSettings

    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-driver-") as tmp:
        driver = LocalDriver(FleetSettings(), Path(tmp))
        await driver.start()
        tenant = uuid.uuid4()
        specs = [
            WorkloadSpec(
                tenant_id=tenant,
                agent_id=uuid.uuid4(),
                agent_name=f"bench-{n}",
                version="1.0.0",
                command=sys.executable,
                args=(str(program),),
                health_path="/healthz",
            )
            for n in range(AGENTS)
        ]
        try:
            started = time.monotonic()
            for spec in specs:
                await driver.apply(spec, replicas=REPLICAS, strategy=Strategy.rolling)
            while True:
                statuses = [await driver.status(s.agent_id) for s in specs]
                if sum(s.ready for s in statuses if s) == AGENTS * REPLICAS:
                    break
                await asyncio.sleep(0.05)
            ready_s = time.monotonic() - started
            print(f"driver: 50 replicas ready in {ready_s:.2f} s")
            pid = os.getpid()
            start_cpu, start = cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(idle)
            cpu = 100 * (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)
            print(f"driver: idle CPU with 50 replicas {cpu:.2f} % of a core")
            new = WorkloadSpec.from_json({**specs[0].to_json(), "version": "2.0.0"})
            started = time.monotonic()
            await driver.apply(new, replicas=REPLICAS, strategy=Strategy.rolling)
            while True:
                status = await driver.status(new.agent_id)
                if status and status.settled:
                    break
                await asyncio.sleep(0.05)
            deploy_s = time.monotonic() - started
            print(f"driver: rolling deploy of 5 replicas in {deploy_s:.2f} s")
        finally:
            await driver.close()
    return figures("driver", ready_s, cpu, deploy_s)


def figures(where: str, ready_s: float, cpu_pct: float, deploy_s: float) -> list[Figure]:
    """Times in ms and CPU in per mille of a core (the figure lines print whole numbers)."""
    return [
        Figure(
            f"fleet: 50 replicas ready ({where})",
            1000 * ready_s,
            "ms",
            1000 * READY_TARGET_S,
            lower_is_better=True,
        ),
        Figure(
            f"fleet: supervisor CPU, 50 idle ({where})",
            10 * cpu_pct,
            "‰ core",
            10 * CPU_TARGET_PCT,
            lower_is_better=True,
        ),
        Figure(
            f"fleet: rolling deploy of 5 ({where})",
            1000 * deploy_s,
            "ms",
            1000 * DEPLOY_TARGET_S,
            lower_is_better=True,
        ),
    ]


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench fleet")
    parser.add_argument("--idle", type=float, default=30.0, help="idle CPU window (seconds)")
    parser.add_argument("--only", choices=("server", "driver"), default=None)
    args = parser.parse_args(argv)
    print(machine(), f"load average {os.getloadavg()}")
    measured: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-agent-") as tmp:
        program = Path(tmp) / "agent.py"
        program.write_text(PROGRAM)
        if args.only in (None, "driver"):
            measured += asyncio.run(driver_alone(program, args.idle))
        if args.only in (None, "server"):
            measured += through_server(program, args.idle)
    for figure in measured:
        print(figure.line())
    return measured
