"""Decode large JSON batch bodies in worker processes, beside the event loop.

Decoding a 10,000-sample ``/metrics/batch`` body takes about as much CPU as everything else
the server does with it, and Python runs one thread at a time: done in the server process it
halves what one event loop can ingest. :class:`DecodePool` sends bodies of at least
:data:`MIN_BYTES` to ``python -m agentdeck.ingest.decoders.worker`` processes over pipes and
gets numbered columns back (:class:`~.json_fast.Decoded`), while the event loop goes on
with other requests.

Nothing depends on the workers: a body is decoded in the server process when no worker is
configured (``tsdb.json_decode_processes`` 0), when every worker already has
:data:`MAX_WAITING` bodies (the loop is then the faster way), while a worker starts, and when
a worker dies, fails or does not answer within :data:`ANSWER_TIMEOUT_SECONDS` (it is killed;
its waiting bodies are decoded here; a new worker starts after :data:`RESTART_SECONDS`).
Workers start on the first large body, not with the app, and stop when the app stops; a
worker whose server dies exits when its input closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from prometheus_client import Metric
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from agentdeck.ingest.batch import paused_gc
from agentdeck.ingest.decoders.json_columns import LABELS
from agentdeck.ingest.decoders.json_fast import Decoded, decode
from agentdeck.ingest.decoders.worker import ANSWER, REQUEST

log = structlog.get_logger(__name__)

#: Smaller bodies are decoded in the server process (the trip costs more than it saves).
MIN_BYTES = 64 * 1024
#: Bodies one worker may hold (being decoded or waiting) before the server decodes itself.
MAX_WAITING = 4
#: A worker that died is replaced after this long (a worker that cannot start is not
#: retried in a tight loop).
RESTART_SECONDS = 10.0
#: A worker that has not answered a body after this long is taken for stuck: it is killed and
#: its bodies are decoded in the server (a 10,000-sample body takes ~15 ms).
ANSWER_TIMEOUT_SECONDS = 10.0
_PIPE_BYTES = 1 << 20  # Linux caps unprivileged pipes at /proc/sys/fs/pipe-max-size (1 MiB)
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Linux; Python names it from 3.10 on Linux only)


class _WorkerGone(Exception):
    """The worker exited or its pipe broke before it answered: decode in the server process."""


class _DecodeFailed(Exception):
    """The worker could not decode this body (a bug: it says why); it goes on serving."""


@dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    waiting: deque[asyncio.Future[Decoded | None]] = field(default_factory=deque)
    reader: asyncio.Task[None] | None = None
    alive: bool = True

    async def ask(self, body: bytes, max_samples: int, now_ms: int) -> Decoded | None:
        """Send a body and wait for its answer (answers come back in order)."""
        future: asyncio.Future[Decoded | None] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(REQUEST.pack(max_samples, now_ms, len(body)))
        stdin.write(body)
        await stdin.drain()
        return await future

    async def read_answers(self) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        try:
            while True:
                head = await stdout.readexactly(ANSWER.size)
                (length,) = ANSWER.unpack(head)
                result = pickle.loads(await stdout.readexactly(length))
                future = self.waiting.popleft()
                if future.done():  # its request was cancelled meanwhile
                    continue
                if isinstance(result, str):
                    future.set_exception(_DecodeFailed(result))
                else:
                    future.set_result(result)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            self.fail(f"the worker's output ended: {exc}")

    def fail(self, why: str) -> None:
        self.alive = False
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(_WorkerGone(why))


@dataclass(eq=False)  # the registry keys collectors by identity
class DecodeStats(Collector):
    """How large bodies were decoded: a collector for the server's ``/metrics`` registry
    (``agentdeck_json_decodes_total{where}``, ``agentdeck_decode_worker_starts_total``,
    ``agentdeck_decode_worker_failures_total``)."""

    in_workers: int = 0
    in_server: int = 0
    worker_starts: int = 0
    worker_failures: int = 0

    def collect(self) -> Iterable[Metric]:
        decodes = CounterMetricFamily(
            "agentdeck_json_decodes",
            "JSON batch bodies of at least 64 KiB decoded, by where: a decode worker process "
            "or the server process.",
            labels=["where"],
        )
        decodes.add_metric(["worker"], float(self.in_workers))
        decodes.add_metric(["server"], float(self.in_server))
        yield decodes
        starts = CounterMetricFamily(
            "agentdeck_decode_worker_starts", "Decode worker processes started."
        )
        starts.add_metric([], float(self.worker_starts))
        yield starts
        failures = CounterMetricFamily(
            "agentdeck_decode_worker_failures",
            "Bodies a decode worker did not decode (it died, its pipe broke or it failed); "
            "the server decoded them.",
        )
        failures.add_metric([], float(self.worker_failures))
        yield failures


class DecodePool:
    """Worker processes that decode JSON batch bodies; see the module docstring."""

    def __init__(
        self,
        processes: int,
        *,
        restart_seconds: float = RESTART_SECONDS,
        answer_timeout: float = ANSWER_TIMEOUT_SECONDS,
    ) -> None:
        self.processes = max(0, processes)
        self.restart_seconds = restart_seconds
        self.answer_timeout = answer_timeout
        self.stats = DecodeStats()
        self._workers: list[_Worker] = []
        self._starting: asyncio.Task[None] | None = None
        self._restart_at = 0.0
        self._closed = False

    async def decode(self, body: bytes, *, max_samples: int, now_ms: int) -> Decoded | None:
        """The body's numbered columns, or ``None`` when the general parser must read it."""
        if len(body) < MIN_BYTES:
            return _decode_here(body, max_samples, now_ms)
        worker = self._pick()
        if worker is not None:
            try:
                # A timeout scope, not wait_for: no extra task between the answer and this
                # request, so it resumes in the loop iteration that reads the answer.
                async with asyncio.timeout(self.answer_timeout):
                    result = await worker.ask(body, max_samples, now_ms)
            except _DecodeFailed as exc:
                self.stats.worker_failures += 1
                log.error("decode_worker_error", pid=worker.process.pid, error=str(exc))
            except (_WorkerGone, ConnectionError, OSError, TimeoutError) as exc:
                self.stats.worker_failures += 1
                why = str(exc) or f"no answer within {self.answer_timeout:g} s"
                log.warning("decode_worker_lost", pid=worker.process.pid, error=why)
                worker.fail(why)
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()  # its reader then ends and it is replaced
            else:
                self.stats.in_workers += 1
                return result
        self.stats.in_server += 1
        return _decode_here(body, max_samples, now_ms)

    @property
    def pids(self) -> list[int]:
        """The running workers' process ids."""
        return [w.process.pid for w in self._workers if w.alive]

    async def start(self) -> None:
        """Start the missing workers now and wait until they run (otherwise they start on
        the first large body)."""
        for _ in range(self.processes - len(self.pids)):
            if self._closed:
                return
            if self._starting is None:
                self._starting = asyncio.create_task(self._start())
            await self._starting

    def _pick(self) -> _Worker | None:
        """The live worker with the fewest bodies, unless all are full; starts workers."""
        if self._closed or not self.processes:
            return None
        self._workers = [w for w in self._workers if w.alive]
        if (
            len(self._workers) < self.processes
            and self._starting is None
            and time.monotonic() >= self._restart_at
        ):
            self._starting = asyncio.create_task(self._start())
        if not self._workers:
            return None
        worker = min(self._workers, key=lambda w: len(w.waiting))
        return worker if len(worker.waiting) < MAX_WAITING else None

    async def _start(self) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agentdeck.ingest.decoders.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=4 * _PIPE_BYTES,
            )
        except OSError as exc:
            self._restart_at = time.monotonic() + self.restart_seconds
            log.warning("decode_worker_start_failed", error=str(exc))
            return
        finally:
            self._starting = None
        for stream in (process.stdin, process.stdout):
            _widen(stream)
        worker = _Worker(process)
        worker.reader = asyncio.create_task(worker.read_answers())
        worker.reader.add_done_callback(lambda _: self._exited(worker))
        if self._closed:
            await self._stop(worker)
            return
        self._workers.append(worker)
        self.stats.worker_starts += 1

    def _exited(self, worker: _Worker) -> None:
        worker.fail("the worker exited")
        if not self._closed:
            self._restart_at = time.monotonic() + self.restart_seconds
            log.warning("decode_worker_exited", pid=worker.process.pid)

    async def close(self) -> None:
        """Stop the workers (bodies still waiting are decoded in the server process)."""
        self._closed = True
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        workers, self._workers = self._workers, []
        await asyncio.gather(*(self._stop(worker) for worker in workers))

    @staticmethod
    async def _stop(worker: _Worker) -> None:
        process = worker.process
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if worker.reader is not None:
            await asyncio.gather(worker.reader, return_exceptions=True)
        worker.fail("the pool closed")


def _widen(stream: object) -> None:
    """Let a pipe hold a whole body (Linux; elsewhere pipes keep their size): fewer trips
    through the event loop per body."""
    transport = getattr(stream, "transport", None) or getattr(stream, "_transport", None)
    pipe = transport.get_extra_info("pipe") if transport is not None else None
    if pipe is None or not sys.platform.startswith("linux"):
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)


def _decode_here(body: bytes, max_samples: int, now_ms: int) -> Decoded | None:
    with paused_gc():
        return decode(body, max_samples=max_samples, now_ms=now_ms, memo=LABELS)


def default_processes(configured: int | None) -> int:
    """Worker processes to use: ``configured``, or two when the machine has two CPUs or more
    (on one CPU a worker would only take turns with the event loop). Two, even on two CPUs:
    with one, concurrent bodies queue for it while a CPU idles (see docs/benchmarks.md)."""
    if configured is not None:
        return configured
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 if (cpus or 1) >= 2 else 0
