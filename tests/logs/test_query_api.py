"""GET /api/v1/logs, the histogram, context and labels over ingested lines."""

from __future__ import annotations

import pytest

from tests.conftest import Factory
from tests.logs.conftest import NS, AppFactory, Deck, entry, make_deck, now_ns


async def _seed(deck: Deck, base: int) -> None:
    entries = []
    for i in range(30):
        entries.append(
            entry(
                f"request {i} {'timeout' if i % 3 == 0 else 'ok'} user=u{i % 2}",
                timestamp=base + i * NS,
                service="api" if i % 2 == 0 else "worker",
                severity=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"][i % 5],
                labels={"env": "prod" if i < 20 else "dev"},
                agent=f"bot-{i % 3}",
            )
        )
    response = await deck.batch(entries)
    assert response.json()["accepted"] == 30


async def test_selectors_and_line_filters(deck: Deck) -> None:
    base = now_ns() - 600 * NS
    await _seed(deck, base)
    assert len(await deck.search()) == 30
    assert len(await deck.search('{service="api"}')) == 15
    assert len(await deck.search('{service="api", env="dev"}')) == 5
    timeouts = await deck.search('{service="api"} |= "timeout"')
    assert [line["message"].split()[1] for line in timeouts] == ["24", "18", "12", "6", "0"]
    assert len(await deck.search('{severity=~"ERROR|CRITICAL"}')) == 12
    assert len(await deck.search('{agent!="bot-0"} != "ok"')) == 0
    assert len(await deck.search('{env="prod"} |~ "user=u1$"')) == 10
    assert len(await deck.search('| logfmt | user="u0"')) == 15


async def test_paging_with_a_cursor_both_ways(deck: Deck) -> None:
    base = now_ns() - 600 * NS
    await _seed(deck, base)
    for direction, first in (("backward", "29"), ("forward", "0")):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 7, "direction": direction}
            if cursor:
                params["cursor"] = cursor
            response = await deck.api.get(
                "/api/v1/logs", params=params, headers=deck.viewer.headers
            )
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [line["message"].split()[1] for line in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 30 and len(set(seen)) == 30
        assert seen[0] == first


async def test_the_range_defaults_to_the_last_hour_and_is_bounded(deck: Deck) -> None:
    await deck.batch([entry("two hours ago", timestamp=now_ns() - 7200 * NS), entry("now")])
    assert await deck.messages() == ["now"]
    day = now_ns() - 86_400 * NS
    assert await deck.messages(start=str(day)) == ["now", "two hours ago"]
    response = await deck.api.get(
        "/api/v1/logs", params={"start": "2020-01-01T00:00:00Z"}, headers=deck.viewer.headers
    )
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/range-too-long"
    response = await deck.api.get(
        "/api/v1/logs",
        params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        headers=deck.viewer.headers,
    )
    assert response.status_code == 422
    response = await deck.api.get(
        "/api/v1/logs", params={"start": "soon"}, headers=deck.viewer.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["query", "start"]


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ('{service="api"', 14),
        ('{service="api"} |= timeout', 19),
        ('{service=~"(unclosed"}', None),
    ],
)
async def test_a_bad_query_is_a_400_naming_the_position(
    deck: Deck, query: str, position: int | None
) -> None:
    response = await deck.api.get(
        "/api/v1/logs", params={"query": query}, headers=deck.viewer.headers
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "/problems/invalid-query"
    assert problem["errors"][0]["loc"] == ["query", "query"]
    assert isinstance(problem["position"], int)
    if position is not None:
        assert problem["position"] == position


async def test_regex_bombs_are_linear(deck: Deck) -> None:
    await deck.batch([entry("a" * 5000 + "!")])
    # catastrophic for a backtracking engine; RE2 answers in linear time
    for pattern, found in (("(a+)+$", 0), ("(a+)+!", 1), ("(a|aa)*b", 0)):
        response = await deck.api.get(
            "/api/v1/logs", params={"query": f'|~ "{pattern}"'}, headers=deck.viewer.headers
        )
        assert response.status_code == 200
        assert len(response.json()["items"]) == found


async def test_a_bad_cursor_is_a_400(deck: Deck) -> None:
    response = await deck.api.get(
        "/api/v1/logs", params={"cursor": "garbage!"}, headers=deck.viewer.headers
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/invalid-cursor"


async def test_histogram_counts_by_severity(deck: Deck) -> None:
    base = (now_ns() // (60 * NS) - 10) * 60 * NS
    await _seed(deck, base)
    response = await deck.api.get(
        "/api/v1/logs/histogram",
        params={"start": str(base), "end": str(base + 600 * NS), "step": "10s"},
        headers=deck.viewer.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["step_seconds"] == 10
    assert [b["total"] for b in body["buckets"]] == [10, 10, 10]
    assert body["buckets"][0]["counts"] == {
        "DEBUG": 2,
        "INFO": 2,
        "WARNING": 2,
        "ERROR": 2,
        "CRITICAL": 2,
    }
    auto = await deck.api.get(
        "/api/v1/logs/histogram",
        params={"query": '{service="api"}'},
        headers=deck.viewer.headers,
    )
    assert auto.status_code == 200 and auto.json()["step_seconds"] == 30  # 1 h / 120
    too_fine = await deck.api.get(
        "/api/v1/logs/histogram", params={"step": "1ms"}, headers=deck.viewer.headers
    )
    assert too_fine.status_code == 422


async def test_context_around_a_line_of_the_same_service(deck: Deck) -> None:
    base = now_ns() - 600 * NS
    await _seed(deck, base)
    (middle,) = await deck.search('|= "request 14 "')
    response = await deck.api.get(
        f"/api/v1/logs/{middle['id']}/context",
        params={"before": 2, "after": 3},
        headers=deck.viewer.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()

    def numbers(lines: list[dict[str, str]]) -> list[str]:
        return [line["message"].split()[1] for line in lines]

    assert numbers(body["before"]) == ["10", "12"]
    assert body["line"]["id"] == middle["id"]
    assert numbers(body["after"]) == ["16", "18", "20"]
    assert body["more_before"] is True and body["more_after"] is True
    everything = await deck.api.get(
        f"/api/v1/logs/{middle['id']}/context",
        params={"before": 7, "after": 7},
        headers=deck.viewer.headers,
    )
    body = everything.json()
    assert numbers(body["before"])[0] == "0" and numbers(body["after"])[-1] == "28"
    assert body["more_before"] is False and body["more_after"] is False
    just_one_short = await deck.api.get(
        f"/api/v1/logs/{middle['id']}/context",
        params={"before": 6, "after": 6},
        headers=deck.viewer.headers,
    )
    body = just_one_short.json()  # 7 lines each side: one more than asked
    assert len(body["before"]) == 6 and len(body["after"]) == 6
    assert body["more_before"] is True and body["more_after"] is True
    bad = await deck.api.get(
        f"/api/v1/logs/{middle['id']}/context",
        params={"before": -1},
        headers=deck.viewer.headers,
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "before" in bad.text
    missing = await deck.api.get(
        "/api/v1/logs/ffffffffffffffffffffffffffffffff/context", headers=deck.viewer.headers
    )
    assert missing.status_code == 404


async def test_labels_and_values_for_autocomplete(deck: Deck) -> None:
    await _seed(deck, now_ns() - 600 * NS)
    response = await deck.api.get("/api/v1/logs/labels", headers=deck.viewer.headers)
    assert response.status_code == 200
    names = response.json()["names"]
    assert {"service", "severity", "agent", "env"} <= set(names)
    response = await deck.api.get("/api/v1/logs/labels/service/values", headers=deck.viewer.headers)
    assert response.json()["values"] == ["api", "worker"]
    response = await deck.api.get(
        "/api/v1/logs/labels/env/values", params={"limit": 1}, headers=deck.viewer.headers
    )
    assert response.json()["values"] == ["dev"]


async def test_label_values_narrowed_by_a_stream_selector(deck: Deck) -> None:
    await _seed(deck, now_ns() - 600 * NS)

    async def values(name: str, query: str) -> list[str]:
        response = await deck.api.get(
            f"/api/v1/logs/labels/{name}/values",
            params={"query": query},
            headers=deck.viewer.headers,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["values"])

    assert await values("agent", "") == ["bot-0", "bot-1", "bot-2"]
    # bot-0 and dev: i = 21, 24, 27, severities i % 5 = 1, 4, 2
    assert await values("severity", '{agent="bot-0", env="dev"}') == [
        "CRITICAL",
        "INFO",
        "WARNING",
    ]
    assert await values("service", '{env="dev"}') == ["api", "worker"]
    assert await values("env", '{service="worker", severity="ERROR"}') == ["dev", "prod"]
    assert await values("agent", '{service="api", agent=~"bot-[01]"}') == ["bot-0", "bot-1"]
    assert await values("service", '{service="nope"}') == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [('{service="api"', "position"), ('{service="api"} |= "x"', "stream selector")],
)
async def test_a_bad_label_values_selector_is_a_problem_naming_the_query(
    deck: Deck, query: str, fragment: str
) -> None:
    response = await deck.api.get(
        "/api/v1/logs/labels/service/values", params={"query": query}, headers=deck.viewer.headers
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/invalid-query" and fragment in body["detail"]
    assert body["errors"][0]["loc"] == ["query", "query"]


async def test_limits_are_bounded(app_factory: AppFactory, factory: Factory) -> None:
    deck = await make_deck(app_factory, factory)
    response = await deck.api.get(
        "/api/v1/logs", params={"limit": 5001}, headers=deck.viewer.headers
    )
    assert response.status_code == 422
