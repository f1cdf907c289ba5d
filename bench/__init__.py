"""Benchmarks with their targets. Run them all with ``python -m bench`` (``make bench``).

Each benchmark measures a reference in the same run (the same work done by a well-known
system) and prints ``figure  value  target  ratio-to-reference`` lines. Results are recorded
in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure: higher is better unless ``lower_is_better``."""

    name: str
    value: float
    unit: str
    target: float | None = None
    reference: float | None = None
    lower_is_better: bool = False

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.lower_is_better else self.value >= self.target

    def line(self) -> str:
        value = f"{self.value:>14,.0f} {self.unit}"
        if self.target is None:
            target = "target —"
        else:
            op = "<=" if self.lower_is_better else ">="
            verdict = "met" if self.meets_target else "MISSED"
            target = f"target {op} {self.target:,.0f} ({verdict})"
        ratio = "ratio —" if not self.reference else f"ratio {self.value / self.reference:.2f}"
        return f"{self.name:<52} {value:<26} {target:<36} {ratio}"


def machine() -> str:
    """``nproc`` and the CPU model, for the record in docs/benchmarks.md."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"nproc {cpus}, {model}, Python {platform.python_version()}"
