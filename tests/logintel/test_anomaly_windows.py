"""Lines ingested long after they happened (a backfill, a replay, an agent that buffered while
offline): their batch and its anomalies carry the time of the lines (``window_start`` /
``window_end``) beside the truthful ``detected_at``; the anomalies list filters and sorts on
that window; the alert they raise starts when raised and carries the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentdeck.db.base import utcnow
from tests.conftest import Factory
from tests.logintel.conftest import create_stream, round_trip
from tests.logs.conftest import AppFactory, Deck, entry, make_deck


@pytest.fixture
async def deck(app_factory: AppFactory, factory: Factory) -> Deck:
    return await make_deck(app_factory, factory, loops={"enabled": False})


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def spike_at(start: datetime, service: str = "checkout") -> list[dict[str, Any]]:
    """20 lines over the 95 s from ``start``, 7 of them errors (a high error spike)."""
    return [
        entry(
            f"payment {i} refused by gateway" if i < 7 else f"cart {i} updated",
            severity="ERROR" if i < 7 else "INFO",
            service=service,
            timestamp=_iso(start + timedelta(seconds=5 * i)),
            agent="checkout-bot",
        )
        for i in range(20)
    ]


async def _get(deck: Deck, path: str, **params: Any) -> Any:
    response = await deck.api.get(path, params=params, headers=deck.viewer.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_backfilled_spike_is_dated_by_its_lines_and_detected_now(deck: Deck) -> None:
    start = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    end = start + timedelta(seconds=95)
    await create_stream(deck, batch_size=20)
    assert (await deck.batch(spike_at(start))).status_code == 200
    before = utcnow()
    await round_trip(deck)

    [anomaly] = (await _get(deck, "/api/v1/anomalies", type="error_spike"))["items"]
    assert (_when(anomaly["window_start"]), _when(anomaly["window_end"])) == (start, end)
    assert anomaly["window_start"].endswith(("+00:00", "Z"))
    assert _when(anomaly["detected_at"]) >= before  # truthful: when the analysis ran
    one = await _get(deck, f"/api/v1/anomalies/{anomaly['anomaly_id']}")
    assert (one["window_start"], one["window_end"]) == (
        anomaly["window_start"],
        anomaly["window_end"],
    )

    [batch] = (await _get(deck, "/api/v1/log-batches"))["items"]
    assert (_when(batch["window_start"]), _when(batch["window_end"])) == (start, end)
    detail = await _get(deck, f"/api/v1/log-batches/{batch['batch_id']}")
    assert (_when(detail["window_start"]), _when(detail["window_end"])) == (start, end)
    assert _when(detail["created_at"]) >= before  # closed now, about lines of two hours ago

    # the alert starts when it was raised (escalation counts from then); its annotations
    # carry the window and the agent
    [alert] = (await _get(deck, "/api/v1/alerts", source="logs"))["items"]
    assert _when(alert["starts_at"]) >= before
    assert _when(alert["last_seen_at"]) >= before
    notes = alert["annotations"]
    assert (_when(notes["window_start"]), _when(notes["window_end"])) == (start, end)
    assert notes["agent"] == "checkout-bot"


async def test_a_recurring_anomaly_widens_its_alerts_window(deck: Deck) -> None:
    first = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
    later = first + timedelta(hours=1)
    await create_stream(deck, batch_size=20)
    await deck.batch(spike_at(later))
    await round_trip(deck)
    await deck.batch(spike_at(first))  # the same anomaly, about older lines
    await round_trip(deck)
    [alert] = (await _get(deck, "/api/v1/alerts", source="logs"))["items"]
    notes = alert["annotations"]
    # the Logs link covers the lines of both anomalies
    assert _when(notes["window_start"]) == first
    assert _when(notes["window_end"]) == later + timedelta(seconds=95)
    assert notes["agent"] == "checkout-bot"


async def test_the_list_filters_and_sorts_on_the_window(deck: Deck) -> None:
    now = utcnow().replace(microsecond=0)
    old, recent = now - timedelta(hours=3), now - timedelta(minutes=30)
    await create_stream(deck, batch_size=20)
    await deck.batch(spike_at(recent, service="search"))  # analysed first
    await round_trip(deck)
    await deck.batch(spike_at(old))  # backfilled later: detected last
    await round_trip(deck)

    def services(page: Any) -> list[str]:
        return [a["service"] for a in page["items"] if a["anomaly_type"] == "error_spike"]

    assert services(await _get(deck, "/api/v1/anomalies")) == ["checkout", "search"]
    by_window = await _get(deck, "/api/v1/anomalies", sort="window")
    assert services(by_window) == ["search", "checkout"]  # newest lines first
    # paging keeps the order
    first = await _get(deck, "/api/v1/anomalies", sort="window", type="error_spike", limit=1)
    rest = await _get(
        deck,
        "/api/v1/anomalies",
        sort="window",
        type="error_spike",
        limit=1,
        cursor=first["next_cursor"],
    )
    assert services(first) + services(rest) == ["search", "checkout"]

    # the window filter: anomalies whose lines overlap [window_from, window_to]
    hour_ago = _iso(now - timedelta(hours=1))
    assert services(await _get(deck, "/api/v1/anomalies", window_from=hour_ago)) == ["search"]
    assert services(await _get(deck, "/api/v1/anomalies", window_to=hour_ago)) == ["checkout"]
    inside = {"window_from": _iso(old + timedelta(seconds=30)), "window_to": hour_ago}
    assert services(await _get(deck, "/api/v1/anomalies", **inside)) == ["checkout"]
    # since keeps its meaning (detected at or after): both were detected just now
    since = _iso(now - timedelta(minutes=5))
    assert len(services(await _get(deck, "/api/v1/anomalies", since=since))) == 2


async def test_bad_window_parameters_are_refused_naming_the_field(deck: Deck) -> None:
    now = datetime.now(UTC)
    for params, field in (
        ({"window_from": "2026-01-01T00:00:00"}, "window_from"),
        ({"window_to": "2026-01-01T00:00:00"}, "window_to"),
        ({"window_from": "last tuesday"}, "window_from"),
        ({"window_from": _iso(now), "window_to": _iso(now - timedelta(hours=1))}, "window_to"),
        ({"sort": "severity"}, "sort"),
    ):
        response = await deck.api.get(
            "/api/v1/anomalies", params=params, headers=deck.viewer.headers
        )
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["loc"][-1] == field, params
