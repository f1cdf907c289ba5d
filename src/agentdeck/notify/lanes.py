"""The lanes of one delivery worker: which claimed rows it holds, per channel, and how many more
each channel may take.

A channel's lane has ``notify.channel_concurrency`` send slots and holds at most as many
claimed rows (waiting for a slot or sending) as it can start before their claim ends
(:meth:`Lanes.capacity_of`), less :attr:`Lanes.margin` to record the outcome: for a channel not
yet seen, or whose last send was slow, as if every send took the whole timeout (8 slots × 5
timeouts in a 60 s claim = 40 rows with the defaults); for a channel whose sends have been quick,
by their pace, up to ``notify.batch_size``. A channel's pace follows a slower send at once and a
quicker one gradually, so an endpoint that starts hanging shrinks its lane after one timeout.
The worker holds at most :attr:`Lanes.capacity` rows in all, counting those whose outcome is
still being written. A claim asks each channel for its lane's room only
(:meth:`Lanes.restrict`); a lane that got all its room (or had none) is marked, and once half of
it is free again ``on_room`` is called, so the loop claims more without waiting for its
interval. Should a row still wait too long for a slot, :meth:`Lanes.may_start` says so and the
worker puts it back unsent.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal, select

from agentdeck.notify.models import NotificationOutbox
from agentdeck.settings import NotifySettings

#: channels whose pace is remembered (the least recently sent to are forgotten first)
PACES = 4096
#: quick channels given their larger room in a claim (the most recently sent to)
QUICK_IN_CLAIM = 256


@dataclass(slots=True)
class Lane:
    """One channel's sends in this worker."""

    slots: asyncio.Semaphore
    #: claimed rows of the channel waiting for a slot or sending
    held: int = 0


@dataclass(slots=True)
class Claim:
    channel_id: uuid.UUID
    #: ``time.monotonic()`` before which the claim holds (taken before the claim was made)
    until: float


class Lanes:
    """Bookkeeping of one worker's claimed rows; see the module docstring."""

    def __init__(self, config: NotifySettings, on_room: Callable[[], None] | None = None) -> None:
        self.channel_concurrency = min(config.channel_concurrency, config.concurrency)
        self.timeout = config.timeout_seconds
        self.batch_size = config.batch_size
        #: time a send must have left on its claim beyond the timeout (to record its outcome)
        self.margin = min(1.0, (config.claim_seconds - config.timeout_seconds) / 2)
        #: how long after its claim a row may still start
        self.start_within = config.claim_seconds - self.margin - self.timeout
        #: rows claimed per channel at most when every send may take the whole timeout
        self.lane_capacity = self._capacity_at(self.timeout)
        #: rows held by the worker at most (being recorded included)
        waves = self.lane_capacity // self.channel_concurrency
        self.capacity = max(config.concurrency * waves, 2 * config.batch_size)
        #: channel → seconds a send has been taking (a slower one counts at once)
        self._pace: dict[uuid.UUID, float] = {}
        #: called when a lane (or the worker) that was full has room again
        self.on_room = on_room
        self.stopping = False
        self._lanes: dict[uuid.UUID, Lane] = {}
        self._claims: dict[uuid.UUID, Claim] = {}
        #: claimed rows whose outcome is not known to be written
        self._open: set[uuid.UUID] = set()
        self._wanting: set[uuid.UUID] = set()
        self._worker_wanting = False

    @property
    def held(self) -> int:
        """Rows held: waiting for a slot, sending, or being recorded."""
        return len(self._open)

    def _capacity_at(self, pace: float) -> int:
        waves = math.floor(self.start_within / max(pace, 0.001)) + 1
        return self.channel_concurrency * waves

    def capacity_of(self, channel_id: uuid.UUID) -> int:
        """Rows the channel's lane may hold: what starts before the claim ends at its pace."""
        pace = self._pace.get(channel_id)
        if pace is None or pace >= self.timeout:
            return self.lane_capacity
        return max(self.lane_capacity, min(self.batch_size, self._capacity_at(pace)))

    def paced(self, channel_id: uuid.UUID, seconds: float) -> None:
        """A send to the channel took ``seconds``."""
        before = self._pace.pop(channel_id, None)
        if before is not None and seconds < before:
            seconds = 0.8 * before + 0.2 * seconds
        self._pace[channel_id] = seconds
        if len(self._pace) > PACES:
            del self._pace[next(iter(self._pace))]

    def room(self) -> dict[uuid.UUID, int]:
        """Free places of the lanes that hold rows and of recently quick channels (any other
        channel has :attr:`lane_capacity`)."""
        room: dict[uuid.UUID, int] = {}
        for cid in reversed(self._pace):
            if len(room) >= QUICK_IN_CLAIM:
                break
            if (capacity := self.capacity_of(cid)) != self.lane_capacity:
                room[cid] = capacity
        for cid, lane in self._lanes.items():
            room[cid] = self.capacity_of(cid) - lane.held
        return room

    def limit(self, batch_size: int) -> int:
        """Rows the next claim may take (0: the worker is full; it is woken when it is not)."""
        limit = min(batch_size, self.capacity - self.held)
        if limit <= 0:
            self._worker_wanting = True
        return max(0, limit)

    def restrict(self, candidates: Any, room: dict[uuid.UUID, int]) -> Any:
        """``candidates`` (a select of outbox ids) cut to the first rows of each channel that
        fit in its lane; full lanes are skipped."""
        full = [cid for cid, left in room.items() if left <= 0]
        self._wanting.update(full)
        if full:
            candidates = candidates.where(NotificationOutbox.channel_id.not_in(full))
        partly = {cid: left for cid, left in room.items() if 0 < left != self.lane_capacity}
        room_of = (
            case(partly, value=NotificationOutbox.channel_id, else_=self.lane_capacity)
            if partly
            else literal(self.lane_capacity)
        )
        ranked = candidates.add_columns(
            func.row_number()
            .over(
                partition_by=NotificationOutbox.channel_id,
                order_by=(NotificationOutbox.next_attempt_at, NotificationOutbox.id),
            )
            .label("rank"),
            room_of.label("room"),
        ).subquery()
        return select(NotificationOutbox.id).where(
            NotificationOutbox.id.in_(select(ranked.c.id).where(ranked.c.rank <= ranked.c.room))
        )

    def hold(
        self,
        claimed: Sequence[tuple[uuid.UUID, uuid.UUID]],
        *,
        until: float,
        room: dict[uuid.UUID, int] | None = None,
        limit: int = 0,
        batch_size: int = 0,
    ) -> None:
        """Take in claimed ``(outbox id, channel id)`` rows. With the ``room`` and ``limit`` the
        claim was made with, mark the lanes (and the worker) that may have more rows due."""
        per_channel: dict[uuid.UUID, int] = {}
        for outbox_id, channel_id in claimed:
            lane = self._lanes.get(channel_id)
            if lane is None:
                lane = self._lanes[channel_id] = Lane(asyncio.Semaphore(self.channel_concurrency))
            lane.held += 1
            self._claims[outbox_id] = Claim(channel_id, until)
            self._open.add(outbox_id)
            per_channel[channel_id] = per_channel.get(channel_id, 0) + 1
        if room is None:
            return
        self._wanting.update(
            cid for cid, n in per_channel.items() if n >= room.get(cid, self.lane_capacity)
        )
        if len(claimed) >= limit and limit < batch_size:
            self._worker_wanting = True

    def slots(self, outbox_id: uuid.UUID) -> asyncio.Semaphore:
        """The send slots of the row's lane."""
        return self._lanes[self._claims[outbox_id].channel_id].slots

    def may_start(self, outbox_id: uuid.UUID) -> bool:
        """Whether the row's claim outlasts a send started now that takes the whole timeout."""
        return time.monotonic() + self.timeout + self.margin <= self._claims[outbox_id].until

    def sent(self, outbox_id: uuid.UUID) -> None:
        """The row's send is over (or never starts): free its place in its lane."""
        claim = self._claims.pop(outbox_id, None)
        if claim is None:
            return
        lane = self._lanes.get(claim.channel_id)
        left = 0
        if lane is not None:
            lane.held -= 1
            left = lane.held
            if left <= 0:
                del self._lanes[claim.channel_id]
        if claim.channel_id in self._wanting and left <= self.capacity_of(claim.channel_id) // 2:
            self._wanting.discard(claim.channel_id)
            self._room()

    def recorded(self, outbox_id: uuid.UUID) -> None:
        """The row is no longer this worker's (its outcome is written, or its claim will
        expire)."""
        self.sent(outbox_id)
        self._open.discard(outbox_id)
        if self._worker_wanting and self.held <= self.capacity // 2:
            self._worker_wanting = False
            self._room()

    def take_unrecorded(self) -> list[uuid.UUID]:
        """The rows still held (at stop: to put back in the queue); forgets them."""
        ids, self._open = list(self._open), set()
        return ids

    def _room(self) -> None:
        if not self.stopping and self.on_room is not None:
            self.on_room()
