"""A template agent's metrics, sent through ``agentdeck_sdk`` under the standard names.

With ``AGENTDECK_URL`` and ``AGENTDECK_API_KEY`` in the environment the agent reports
``agent_requests_total``, ``agent_errors_total``, ``agent_request_duration_seconds``, its LLM
calls (``record_llm_call``: tokens, cost, GenAI histograms), ``agent_calls_total`` /
``agent_call_errors_total`` towards the endpoint, and ``agent_cpu_percent`` /
``agent_memory_percent`` sampled from the process. Without them every call here does nothing
and the agent still serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import time
from collections.abc import Mapping
from pathlib import Path

from agentdeck.fleet.templates import ENV_API_KEY, ENV_MEMORY_LIMIT, ENV_REPLICA, ENV_URL
from agentdeck_sdk import AsyncClient

log = logging.getLogger("agentdeck.agent")

CGROUP_ROOT = Path("/sys/fs/cgroup")


class ProcessSampler:
    """CPU (percent of one core since the last sample) and memory of this process."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        self._last_cpu = self._cpu_seconds()
        self._last_wall = time.monotonic()

    @staticmethod
    def _cpu_seconds() -> float:
        times = os.times()
        return times.user + times.system

    def cpu_percent(self) -> float:
        cpu, wall = self._cpu_seconds(), time.monotonic()
        used, elapsed = cpu - self._last_cpu, wall - self._last_wall
        self._last_cpu, self._last_wall = cpu, wall
        return max(0.0, 100.0 * used / elapsed) if elapsed > 0 else 0.0

    @staticmethod
    def rss_bytes() -> int:
        try:
            resident = int(Path("/proc/self/statm").read_text().split()[1])
            return resident * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def memory_limit(self) -> int | None:
        """The limit memory is a percentage of: the supervisor's figure, the cgroup's
        ``memory.max``, the address-space rlimit, else the machine's memory."""
        given = self._env.get(ENV_MEMORY_LIMIT, "")
        if given.isdigit() and int(given) > 0:
            return int(given)
        limit = _cgroup_memory_max()
        if limit is not None:
            return limit
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            return int(soft)
        try:
            return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return None

    def memory_percent(self, rss: int) -> float | None:
        limit = self.memory_limit()
        return 100.0 * rss / limit if limit else None


def _cgroup_memory_max() -> int | None:
    """The smallest ``memory.max`` on this process's cgroup v2 path, if any is set."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    if path is None:
        return None
    limits = []
    directory = CGROUP_ROOT / path.lstrip("/")
    while True:
        with contextlib.suppress(OSError, ValueError):
            text = (directory / "memory.max").read_text().strip()
            if text != "max":
                limits.append(int(text))
        if directory == CGROUP_ROOT or CGROUP_ROOT not in directory.parents:
            break
        directory = directory.parent
    return min(limits) if limits else None


class Telemetry:
    """Records the agent's metrics, or nothing when ``client`` is None."""

    def __init__(self, client: AsyncClient | None, *, interval: float) -> None:
        self.client = client
        self.interval = interval
        self.sampler = ProcessSampler()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_env(
        cls,
        *,
        agent: str,
        replica: str,
        interval: float,
        env: Mapping[str, str] | None = None,
    ) -> Telemetry:
        """The SDK client for ``AGENTDECK_URL``/``AGENTDECK_API_KEY``; off when either is unset.

        Call on the running event loop (the SDK's sender is a task on it).
        """
        env = os.environ if env is None else env
        url, key = env.get(ENV_URL, "").strip(), env.get(ENV_API_KEY, "").strip()
        if not url or not key:
            log.info("telemetry off: set %s and %s to report to agentdeck", ENV_URL, ENV_API_KEY)
            return cls(None, interval=interval)
        replica = env.get(ENV_REPLICA, "").strip() or replica
        client = AsyncClient(url, key, agent=agent, labels={"replica": replica}, close_timeout=3)
        log.info("telemetry on: reporting to %s as agent %r, replica %r", url, agent, replica)
        return cls(client, interval=interval)

    @property
    def enabled(self) -> bool:
        return self.client is not None

    def start(self) -> None:
        if self.client is not None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sample_loop())

    async def _sample_loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sample()

    def sample(self) -> None:
        """Record CPU and memory now."""
        if self.client is None:
            return
        self.client.gauge("agent_cpu_percent", round(self.sampler.cpu_percent(), 3))
        rss = self.sampler.rss_bytes()
        self.client.gauge("process_resident_memory_bytes", rss)
        percent = self.sampler.memory_percent(rss)
        if percent is not None:
            self.client.gauge("agent_memory_percent", round(percent, 3))

    def request(self, seconds: float, *, failed: bool) -> None:
        """One ``/invoke`` request and whether it failed (a 5xx answer)."""
        if self.client is None:
            return
        self.client.counter("agent_requests_total")
        if failed:
            self.client.counter("agent_errors_total")
        self.client.histogram("agent_request_duration_seconds", seconds)

    def llm_call(
        self,
        *,
        target: str,
        model: str,
        failed: bool,
        tokens_in: int = 0,
        tokens_out: int = 0,
        latency: float = 0.0,
        cost: float = 0.0,
    ) -> None:
        """One call to the LLM endpoint (tokens and cost when it answered)."""
        if self.client is None:
            return
        labels = {"target": target}
        self.client.counter("agent_calls_total", labels=labels)
        if failed:
            self.client.counter("agent_call_errors_total", labels=labels)
            return
        self.client.record_llm_call(model, tokens_in, tokens_out, latency, cost)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.client is not None:
            self.sample()
            await self.client.aclose()
