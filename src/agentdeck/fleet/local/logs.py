"""Replica output: each replica writes stdout and stderr to two files; the supervisor tails them.

Files rather than pipes: a pipe's reading end dies with the supervisor, and the replica with it
at its next write (SIGPIPE), so a crash of agentdeck would take the fleet down; a file outlives
the supervisor, the replica keeps writing, and the next agentdeck process goes on reading from
the offset the last one saved (a few lines may be handed on twice after a crash; none are lost).

Every ``poll`` seconds the tailer reads what each file gained, splits it into lines (a line
longer than ``MAX_LINE_BYTES`` is cut), keeps the last lines per replica in a ring buffer and
hands them to the registered sinks (the logs pipeline). A line's time is when it was read.
Once read past ``max_bytes`` a file is emptied (the replica appends, so it goes on writing at
the start); a line written between the last read and the truncation is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from agentdeck.db.base import utcnow
from agentdeck.fleet.driver import LineSink, LogLine, Stream
from agentdeck.fleet.journal import LineSinks

log = structlog.get_logger(__name__)

MAX_LINE_BYTES = 16 * 1024
READ_CHUNK = 1024 * 1024
STDERR_TAIL = 20


@dataclass(slots=True)
class _File:
    path: Path
    stream: Stream
    offset: int = 0
    partial: bytes = b""
    fd: int | None = None

    def open(self) -> int | None:
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                return None
        return self.fd

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None


@dataclass(slots=True)
class ReplicaOutput:
    """The two output files of one replica and its last lines."""

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    agent: str
    replica: str
    files: tuple[_File, _File]
    version: str
    lines: deque[LogLine]
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL))

    @property
    def offsets(self) -> dict[str, int]:
        return {f.stream: f.offset for f in self.files}


class LogTailer:
    """Reads every tracked replica's output files; one task for all of them."""

    def __init__(self, directory: Path, *, poll: float, buffer_lines: int, max_bytes: int) -> None:
        self.directory = directory
        self.poll = poll
        self.buffer_lines = buffer_lines
        self.max_bytes = max_bytes
        self._outputs: dict[str, ReplicaOutput] = {}
        self.sinks = LineSinks()
        self._task: asyncio.Task[None] | None = None

    def paths(self, replica: str) -> tuple[Path, Path]:
        return (self.directory / f"{replica}.stdout.log", self.directory / f"{replica}.stderr.log")

    def add_sink(self, sink: LineSink) -> Callable[[], None]:
        return self.sinks.add(sink)

    def track(
        self,
        *,
        tenant_id: uuid.UUID,
        agent_id: uuid.UUID,
        agent: str,
        replica: str,
        version: str = "",
        offsets: dict[str, int] | None = None,
    ) -> ReplicaOutput:
        """Start (or keep) reading a replica's files, from saved offsets when re-adopting."""
        output = self._outputs.get(replica)
        if output is not None:
            return output
        stdout, stderr = self.paths(replica)
        offsets = offsets or {}
        output = ReplicaOutput(
            tenant_id=tenant_id,
            agent_id=agent_id,
            agent=agent,
            replica=replica,
            files=(
                _File(stdout, "stdout", offsets.get("stdout", 0)),
                _File(stderr, "stderr", offsets.get("stderr", 0)),
            ),
            version=version,
            lines=deque(maxlen=self.buffer_lines),
        )
        self._outputs[replica] = output
        return output

    def get(self, replica: str) -> ReplicaOutput | None:
        return self._outputs.get(replica)

    def forget(self, replica: str, *, remove_files: bool) -> None:
        """Read what is left, stop tracking, and delete the files when asked."""
        output = self._outputs.pop(replica, None)
        if output is None:
            return
        self.sinks.deliver(self._read(output))
        for file in output.files:
            file.close()
            if remove_files:
                with contextlib.suppress(OSError):
                    file.path.unlink()

    def drain(self, replica: str) -> None:
        """Read one replica's files now (its process just exited: its last words)."""
        output = self._outputs.get(replica)
        if output is not None:
            self.sinks.deliver(self._read(output))

    def read_all(self) -> None:
        lines: list[LogLine] = []
        for output in list(self._outputs.values()):
            lines.extend(self._read(output))
        self.sinks.deliver(lines)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="fleet-log-tailer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.read_all()
        for output in self._outputs.values():
            for file in output.files:
                file.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll)
            try:
                self.read_all()
            except Exception:  # a bad file or sink must not end the tailing
                log.exception("fleet log tailing failed")

    # --- reading -------------------------------------------------------------------------------

    def _read(self, output: ReplicaOutput) -> list[LogLine]:
        lines: list[LogLine] = []
        for file in output.files:
            for text in self._new_lines(file):
                line = LogLine(
                    tenant_id=output.tenant_id,
                    agent_id=output.agent_id,
                    agent=output.agent,
                    replica=output.replica,
                    stream=file.stream,
                    line=text,
                    at=utcnow(),
                    version=output.version,
                )
                lines.append(line)
                output.lines.append(line)
                if file.stream == "stderr":
                    output.stderr_tail.append(text)
        return lines

    def _new_lines(self, file: _File) -> Iterable[str]:
        fd = file.open()
        if fd is None:
            return []
        try:
            size = os.fstat(fd).st_size
        except OSError:
            return []
        if size < file.offset:  # emptied (by us, or by someone rotating it)
            file.offset, file.partial = 0, b""
        if size == file.offset:
            return []
        chunks = [file.partial]
        while file.offset < size:
            data = os.pread(fd, min(READ_CHUNK, size - file.offset), file.offset)
            if not data:
                break
            file.offset += len(data)
            chunks.append(data)
        if file.offset >= self.max_bytes:
            # read what came meanwhile, then empty the file for the appending writer
            tail = os.pread(fd, READ_CHUNK, file.offset)
            chunks.append(tail)
            os.ftruncate(fd, 0)
            file.offset = 0
        data = b"".join(chunks)
        *complete, file.partial = data.split(b"\n")
        if len(file.partial) > MAX_LINE_BYTES:
            complete.append(file.partial)
            file.partial = b""
        return [
            part[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r")
            for part in complete
        ]
