"""The autoscaler: a decision lands within one evaluation interval of the threshold being
crossed.

Through a real server (``agentdeck serve``, SQLite + DuckDB, the local fleet driver, every loop
on, ``fleet.autoscaler.interval_seconds`` = ``--interval``): ``--agents`` custom agents (a
sleeping Python process each) with ``auto_scaling {enabled, min 1, max 3}`` are started. Then,
one agent at a time at a random moment, its CPU for the last 10 minutes is reported at 90 %
(ten reports through ``POST /api/v1/agents/{id}/metrics``): the moment the last report is
answered, its 10-minute average is over 70 %. The figure is the time from then until
``GET …/autoscaler/decisions`` shows its ``scaled_up`` decision (the worst of the agents, and
the median). Target: at most one evaluation interval.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from typing import Any

import httpx

from bench import Figure, machine
from bench._agentdeck import agentdeck_server


def until(check: Any, deadline: float, what: str, pause: float = 0.02) -> float:
    """Poll ``check`` until true; the seconds it took (raises at the deadline)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > deadline:
            raise TimeoutError(what)
        time.sleep(pause)
    return time.monotonic() - start


def run(agents: int, interval: float) -> list[float]:
    env = {
        "AGENTDECK_FLEET__AUTOSCALER__INTERVAL_SECONDS": str(interval),
        "AGENTDECK_FLEET__AUTOSCALER__COOLDOWN_SECONDS": "0",
    }
    latencies: list[float] = []
    with agentdeck_server("agentdeck-bench-autoscale-", env) as (url, key):
        client = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30)
        ids = []
        for n in range(agents):
            response = client.post(
                "/api/v1/agents",
                json={
                    "name": f"scaled-{n}",
                    "type": "custom",
                    "config": {
                        "command": sys.executable,
                        "args": ["-c", "import time; time.sleep(3600)"],
                        "auto_scaling": {"enabled": True, "min_replicas": 1, "max_replicas": 3},
                    },
                },
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
            client.post(f"/api/v1/agents/{ids[-1]}/start").raise_for_status()

        def running() -> bool:
            states = [client.get(f"/api/v1/agents/{i}").json()["status"] for i in ids]
            return all(s == "running" for s in states)

        until(running, 60, "agents running", pause=0.2)
        for agent_id in ids:
            time.sleep(random.uniform(0, interval))  # a random phase against the loop's ticks
            now_ms = int(time.time() * 1000)
            for minute in range(10):
                report = {"timestamp": now_ms - minute * 55_000, "cpu_percent": 90.0}
                client.post(f"/api/v1/agents/{agent_id}/metrics", json=report).raise_for_status()
            crossed = time.monotonic()

            def scaled(agent_id: str = agent_id) -> bool:
                page = client.get(
                    f"/api/v1/agents/{agent_id}/autoscaler/decisions",
                    params={"outcome": "scaled_up"},
                ).json()
                return bool(page["items"])

            until(scaled, 10 * interval, "a scaled_up decision")
            latency = time.monotonic() - crossed
            latencies.append(latency)
            print(f"agent {agent_id}: scaled_up decision {1000 * latency:.0f} ms after crossing")
        for agent_id in ids:
            client.post(f"/api/v1/agents/{agent_id}/stop")
    return latencies


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench fleet_autoscale")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--interval", type=float, default=5.0, help="evaluation interval (s)")
    args = parser.parse_args(argv)
    print(machine(), f"load average {os.getloadavg()}")
    latencies = run(args.agents, args.interval)
    target_ms = 1000 * args.interval
    figures = [
        Figure(
            f"autoscaler: decision after crossing, worst of {args.agents}",
            1000 * max(latencies),
            "ms",
            target_ms,
            lower_is_better=True,
        ),
        Figure(
            "autoscaler: decision after crossing, median",
            1000 * statistics.median(latencies),
            "ms",
            target_ms,
            lower_is_better=True,
        ),
    ]
    for figure in figures:
        print(figure.line())
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
