"""Run every benchmark and print each figure beside its target: ``python -m bench``."""

from __future__ import annotations

import importlib
import sys

from bench import Figure

# Each module has main(argv) -> list[Figure]; the list grows with the issues that add them.
BENCHMARKS = [
    "bench.store_write",
    "bench.vm_coalesce",
    "bench.ingest_http",
    "bench.ingest_otlp",
    "bench.logs_ingest",
    "bench.query",
    "bench.realtime_http",
    "bench.ws_fanout",
    "bench.notify",
    "bench.alerting",
    "bench.logs_store",
    "bench.fleet",
    "bench.fleet_autoscale",
    "bench.mining",
    "bench.llm_masking",
]


def main() -> int:
    if len(sys.argv) > 1:  # python -m bench <name> [options]: one benchmark
        importlib.import_module(f"bench.{sys.argv[1]}").main(sys.argv[2:])
        return 0
    figures: list[Figure] = []
    for name in BENCHMARKS:
        print(f"\n== {name}")
        figures += importlib.import_module(name).main([])
    print("\n== summary")
    for figure in figures:
        print(figure.line())
    missed = [f.name for f in figures if f.meets_target is False]
    if missed:
        print(f"\n{len(missed)} target(s) missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
