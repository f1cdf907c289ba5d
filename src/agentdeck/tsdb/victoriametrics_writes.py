"""Write coalescing for the VictoriaMetrics store: concurrent writes share one import request.

The group commit (:class:`~agentdeck.db.group_commit.GroupCommit`) configured for
VictoriaMetrics. Each write submits its encoded ``/api/v1/import`` body (JSON lines, so bodies
join by concatenation); the queued bodies, up to ``max_request_samples`` samples, go out as one
request, one request in flight at a time, so writes arriving meanwhile share the next one.
While writers overlap (a write arrived during the previous request), the next request also
waits until its oldest write is ``linger`` seconds old (or a request's worth is queued); a lone
writer never waits. Each caller's ``submit`` returns once the request holding its samples
succeeded; when it failed, every caller of that request gets its
:class:`~agentdeck.tsdb.base.StoreError` (nothing of theirs is acknowledged, and the writes are
not retried one by one: with the server down that would only multiply failed requests). A write
is never split across requests.

Memory is bounded: while ``max_queued_samples`` samples are queued or in flight, a further
write is refused at once with a :class:`~agentdeck.tsdb.base.StoreError` (the store is
unavailable for now) instead of being buffered. Closing sends what is queued, then stops.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agentdeck.db.group_commit import GroupCommit
from agentdeck.tsdb.base import StoreError


@dataclass(frozen=True, slots=True)
class ImportBody:
    """One write: its import lines and how many samples they carry (its ``len``)."""

    body: bytes
    samples: int

    def __len__(self) -> int:
        return self.samples


#: The import-request group commit: one ``None`` per write once its request succeeded.
ImportWrites = GroupCommit[ImportBody, tuple[bytes, int], None]


def import_writes(
    send: Callable[[bytes], Awaitable[None]],
    *,
    linger: float,
    max_request_samples: int,
    max_queued_samples: int,
) -> ImportWrites:
    """Writes coalesced into import requests sent by ``send(body)`` (raises on failure)."""

    def join(writes: list[ImportBody]) -> tuple[bytes, int]:
        body = writes[0].body if len(writes) == 1 else b"".join(w.body for w in writes)
        return body, len(writes)

    async def request(joined: tuple[bytes, int]) -> list[None]:
        await send(joined[0])
        return [None] * joined[1]

    def backed_up(held: int) -> StoreError:
        return StoreError(
            f"VictoriaMetrics writes are backed up: {held} samples are waiting "
            f"(at most {max_queued_samples}, tsdb.victoriametrics_max_queued_samples)"
        )

    return GroupCommit(
        join,
        request,
        None,  # joining is cheap: on the event loop, one request in flight
        empty=None,
        closed=lambda: StoreError("the metrics store is closed"),
        on_failure="fail_group",
        linger=linger,
        linger_for="full_group",
        max_records=max_request_samples,
        max_queued=max_queued_samples,
        backed_up=backed_up,
        name="tsdb-victoriametrics-writer",
    )
