"""With rule detectors only, the batches cut in a round are analysed in the cut's transaction;
if that analysis raises, the round is cut again the ``pending`` way: every line still makes
exactly one batch, and the batch that could not be analysed is kept ``failed`` with why."""

from __future__ import annotations

from typing import Any

import pytest

from agentdeck.logintel.analysis import AnomalyDraft, AnomalySeverity, BatchContext
from tests.conftest import Factory
from tests.logintel.conftest import app_state, create_stream, round_trip
from tests.logintel.test_stream_hold import batch_line_ids, lines
from tests.logs.conftest import AppFactory, Deck, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


class MalformedDraft:
    """A detector whose draft cannot be stored (its type is not an ``AnomalyType``)."""

    name = "malformed"

    def detect(self, batch: BatchContext) -> list[AnomalyDraft]:
        kind: Any = "not-a-type"
        return [
            AnomalyDraft(
                anomaly_type=kind,
                severity=AnomalySeverity.LOW,
                service="api",
                description="x",
                confidence=0.5,
                detector=self.name,
            )
        ]


async def batches(deck: Deck) -> list[dict[str, Any]]:
    page = await deck.api.get("/api/v1/log-batches", headers=deck.viewer.headers)
    return list(reversed(page.json()["items"]))  # oldest first


async def test_batches_cut_in_a_round_are_analysed_in_it(deck: Deck) -> None:
    await create_stream(deck, batch_size=10)
    await deck.batch(lines(35))
    assert await round_trip(deck) == (3, 3)
    assert [b["status"] for b in await batches(deck)] == ["completed"] * 3
    every = [i for batch in await batch_line_ids(deck) for i in batch]
    assert len(every) == len(set(every)) == 30


async def test_an_analysis_that_raises_leaves_each_line_in_one_failed_batch(deck: Deck) -> None:
    state = app_state(deck)
    assert state.log_batcher is not None
    state.log_batcher.processor.detectors.append(MalformedDraft())
    await create_stream(deck, batch_size=10)
    await deck.batch(lines(25))
    assert await round_trip(deck) == (2, 2)
    found = await batches(deck)
    assert [b["status"] for b in found] == ["failed", "failed"]
    assert all("AttributeError" in b["error"] for b in found)
    every = [i for batch in await batch_line_ids(deck) for i in batch]
    assert len(every) == len(set(every)) == 20
    state.log_batcher.processor.detectors.pop()
    await deck.batch(lines(5, "more"))
    assert await round_trip(deck) == (1, 1)
    assert [b["status"] for b in await batches(deck)] == ["failed", "failed", "completed"]
