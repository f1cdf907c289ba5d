"""``make fuzz``: a long schemathesis run against a real ``agentdeck serve``, beyond CI's.

Every operation of the served OpenAPI document, as an admin, a developer and a viewer, through
all four phases: the schema's examples, the coverage phase (boundary and wrong-type values),
random fuzzing, and the stateful phase (chains of create → read → update → delete that follow
the document's links). Checks: no 5xx, every error a problem+json document (the Prometheus API
its own error shape), every answer matching its documented schema, status codes documented.

    python -m bench fuzz [--max-examples N] [--roles admin,developer,viewer] [--phases ...]

Reports (JUnit XML and the failing cases as a pytest file that reproduces them) go to
``test-results/fuzz/<role>/``. The background loops are off (nothing fetches the URLs the
fuzzer stores) and so are rate limits; outbound calls keep the default policy, which refuses
private and loopback addresses. Not part of ``make test``: a full run takes tens of minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench import Figure
from bench._agentdeck import agentdeck_server

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "tests" / "server" / "schemathesis_hooks.py"
REPORTS = ROOT / "test-results" / "fuzz"
CHECKS = "not_a_server_error,problem_json_errors,response_schema_conformance"
PHASES = "examples,coverage,fuzzing,stateful"


def _st() -> str:
    found = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if not found:
        raise SystemExit("the schemathesis command (st) is missing: uv sync")
    return found


def _key(url: str, admin_key: str, role: str) -> str:
    answer = httpx.post(
        f"{url}/api/v1/api-keys",
        json={"name": f"fuzz-{role}", "role": role},
        headers={"X-API-Key": admin_key},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["key"])


def _run(url: str, key: str, role: str, args: argparse.Namespace) -> tuple[int, float]:
    out = REPORTS / role
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # the document is fetched here, with a generous timeout: on a loaded machine the served
    # document (hundreds of kB) can take longer than schemathesis's own 10 s loading timeout
    schema = out / "openapi.json"
    schema.write_bytes(httpx.get(f"{url}/openapi.json", timeout=120).raise_for_status().content)
    command = [
        _st(),
        "run",
        str(schema),
        "--url",
        url,
        "--header",
        f"X-API-Key: {key}",
        "--checks",
        CHECKS,
        "--phases",
        args.phases,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--request-timeout",
        "30",
        "--continue-on-failure",
        # generating data for the largest bodies is slow on a loaded machine; that is no
        # finding about the API (every check still runs on what is generated)
        "--suppress-health-check",
        "too_slow",
        "--report",
        "junit,pytest",
        "--report-dir",
        str(out),
        "--no-color",
    ]
    with (out / "output.txt").open("w") as log:
        result = subprocess.run(
            command,
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "NO_COLOR": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    tail = (out / "output.txt").read_text(errors="replace").splitlines()[-25:]
    print(f"-- {role}: exit {result.returncode}")
    print("\n".join(tail))
    return result.returncode, time.monotonic() - started


def main(argv: list[str]) -> list[Figure]:
    parser = argparse.ArgumentParser(prog="python -m bench fuzz")
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--roles", default="admin,developer,viewer")
    parser.add_argument("--phases", default=PHASES)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--workers", type=int, default=1)  # >1 trips cpython gh-106905 on 3.11.7
    args = parser.parse_args(argv)
    env = {"AGENTDECK_LOOPS__ENABLED": "false"}
    failures: list[str] = []
    with agentdeck_server("agentdeck-fuzz-", env, role="admin") as (url, admin_key):
        for role in args.roles.split(","):
            key = admin_key if role == "admin" else _key(url, admin_key, role)
            code, seconds = _run(url, key, role, args)
            print(f"-- {role}: {seconds:.0f} s")
            if code != 0:
                failures.append(role)
    if failures:
        print(f"\nfailures as {', '.join(failures)}: see {REPORTS}/<role>/")
        raise SystemExit(1)
    print("\nno failure in any role")
    return []
