"""POST /api/v1/logs/batch through the real app: partial acceptance, limits, bad input."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest
import zstandard

from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.logs.conftest import NS, AppFactory, Deck, entry, make_deck, now_ns


async def test_a_batch_is_stored_and_read_back(deck: Deck) -> None:
    t = now_ns() - 60 * NS
    response = await deck.batch(
        [
            entry(
                "first",
                timestamp=t,
                severity="warn",
                labels={"env": "prod"},
                agent="bot-1",
                trace_id="ab" * 16,
                span_id="cd" * 8,
            ),
            entry("second", timestamp=f"{t // NS + 1}", service="worker", severity="ERROR"),
            entry("third"),  # no timestamp: now
        ]
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3, "rejected": 0, "truncated": 0, "errors": []}
    lines = await deck.search()
    assert [line["message"] for line in lines] == ["third", "second", "first"]  # newest first
    first = lines[2]
    assert first["severity"] == "WARNING" and first["labels"] == {"env": "prod"}
    assert (first["agent"], first["trace_id"], first["span_id"]) == ("bot-1", "ab" * 16, "cd" * 8)
    assert first["ts"].endswith("Z") and first["template_id"] is None
    assert await deck.messages('{service="worker"}') == ["second"]


async def test_compressed_bodies(deck: Deck) -> None:
    body = orjson.dumps({"entries": [entry("zipped")]})
    for encoding, data in (
        ("gzip", gzip.compress(body)),
        ("zstd", zstandard.ZstdCompressor().compress(body)),
    ):
        response = await deck.api.post(
            "/api/v1/logs/batch",
            content=data,
            headers={
                **deck.ingest.headers,
                "Content-Type": "application/json",
                "Content-Encoding": encoding,
            },
        )
        assert response.status_code == 200, (encoding, response.text)
    assert await deck.messages() == ["zipped", "zipped"]


async def test_bad_entries_are_refused_by_index_and_the_good_ones_kept(deck: Deck) -> None:
    ten_years = 10 * 365 * 86_400 * NS
    entries = [
        entry("good 0"),
        entry("bad severity", severity="verbose"),
        entry("future", timestamp=now_ns() + ten_years),
        entry("past", timestamp=now_ns() - ten_years),
        entry("many labels", labels={f"l{i}": "v" for i in range(31)}),
        entry("bad trace", trace_id="not-hex"),
        {"severity": "INFO", "message": "no service"},
        entry("good 7"),
    ]
    response = await deck.batch(entries)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 6)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [
        (1, "severity"),
        (2, "timestamp"),
        (3, "timestamp"),
        (4, "labels"),
        (5, "trace_id"),
        (6, "service"),
    ]
    assert "unknown severity" in body["errors"][0]["message"]
    assert "future" in body["errors"][1]["message"]
    assert "retention of 7 days" in body["errors"][2]["message"]
    assert await deck.messages() == ["good 0", "good 7"]


async def test_no_valid_entry_is_a_400_problem(deck: Deck) -> None:
    response = await deck.batch([entry("x", severity="loud"), entry("y", severity="quiet")])
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/no-valid-entries"
    assert (problem["accepted"], problem["rejected"]) == (0, 2)
    assert [e["loc"] for e in problem["errors"]] == [[0, "severity"], [1, "severity"]]
    assert await deck.search() == []


async def test_an_empty_batch_is_fine(deck: Deck) -> None:
    response = await deck.batch([])
    assert response.status_code == 200
    assert response.json()["accepted"] == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status", "kind"),
    [
        (b'{"entries": [', "application/json", 400, "malformed-body"),
        (b"[1, 2]", "application/json", 400, "malformed-body"),
        (b'{"entries": "x"}', "application/json", 400, "malformed-body"),
        (b"entries=1", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
        (b"\x00\x01\x02", "application/x-protobuf", 415, "unsupported-media-type"),
    ],
)
async def test_malformed_bodies_and_wrong_content_types(
    deck: Deck, content: bytes, content_type: str, status: int, kind: str
) -> None:
    response = await deck.api.post(
        "/api/v1/logs/batch",
        content=content,
        headers={**deck.ingest.headers, "Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/problems/{kind}"


async def test_unknown_content_encoding_and_corrupt_gzip(deck: Deck) -> None:
    headers = {**deck.ingest.headers, "Content-Type": "application/json"}
    response = await deck.api.post(
        "/api/v1/logs/batch", content=b"x", headers={**headers, "Content-Encoding": "br"}
    )
    assert response.status_code == 415
    response = await deck.api.post(
        "/api/v1/logs/batch", content=b"not gzip", headers={**headers, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-body"


async def test_a_1_mib_line_is_truncated_never_a_500(deck: Deck) -> None:
    big = "x" * (1024 * 1024)
    response = await deck.batch([entry(big), entry("small")])
    assert response.status_code == 200, response.text
    assert response.json()["truncated"] == 1
    (line,) = await deck.search('|= "xxxx"')
    assert line["truncated"] is True and len(line["message"]) == 256 * 1024


async def test_a_batch_over_the_decompressed_limit_is_413(
    app_factory: AppFactory, factory: Factory
) -> None:
    deck = await make_deck(app_factory, factory, logs={"max_batch_bytes": 64 * 1024})
    body = gzip.compress(orjson.dumps({"entries": [entry("y" * 1000) for _ in range(100)]}))
    assert len(body) < 64 * 1024  # small on the wire, large once decompressed
    response = await deck.api.post(
        "/api/v1/logs/batch",
        content=body,
        headers={
            **deck.ingest.headers,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    assert await deck.search() == []


async def test_invalid_utf8_is_replaced_not_refused(deck: Deck) -> None:
    body = b'{"entries": [{"severity": "INFO", "service": "api", "message": "bad \xff\xfe byte"}]}'
    response = await deck.api.post(
        "/api/v1/logs/batch",
        content=body,
        headers={**deck.ingest.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert await deck.messages() == ["bad \ufffd\ufffd byte"]


async def test_the_label_cardinality_cap_gives_a_clear_per_entry_error(
    app_factory: AppFactory, factory: Factory
) -> None:
    deck = await make_deck(app_factory, factory, logs={"max_streams_per_tenant": 1000})
    entries = [entry(f"user {i}", labels={"user": str(i)}) for i in range(100_000)]
    response = await deck.api.post(
        "/api/v1/logs/batch",
        content=json.dumps({"entries": entries}).encode(),
        headers={**deck.ingest.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1000, 99_000)
    assert body["errors"][0]["index"] == 1000
    assert "label cardinality limit" in body["errors"][0]["message"]
    # what was accepted is there; the streams the tenant has keep flowing
    assert len(await deck.search('{user=~"9.*"}')) == 111
    again = await deck.batch([entry("again", labels={"user": "5"})])
    assert again.json()["accepted"] == 1


async def test_ingest_needs_the_ingest_role(deck: Deck, factory: Factory) -> None:
    response = await deck.api.post(
        "/api/v1/logs/batch", json={"entries": [entry("x")]}, headers=deck.viewer.headers
    )
    assert response.status_code == 403
    response = await deck.api.post("/api/v1/logs/batch", json={"entries": [entry("x")]})
    assert response.status_code == 401
    admin = await factory.user(Role.admin, deck.tenant)
    response = await deck.api.post(
        "/api/v1/logs/batch", json={"entries": [entry("by admin")]}, headers=admin.headers
    )
    assert response.status_code == 200


async def test_basic_auth_with_an_api_key_as_password(deck: Deck) -> None:
    key = deck.ingest.api_key
    assert key is not None
    response = await deck.api.post(
        "/api/v1/logs/batch", json={"entries": [entry("basic")]}, auth=("anyone", key)
    )
    assert response.status_code == 200, response.text
    response = await deck.api.post(
        "/api/v1/logs/batch", json={"entries": [entry("basic")]}, auth=("anyone", "secret")
    )
    assert response.status_code == 401


async def test_a_failed_store_is_a_503_and_not_ready(deck: Deck) -> None:
    state = deck.api.app.state.deck  # type: ignore[attr-defined]
    await state.log_store.close()  # the store stops answering
    response = await deck.batch([entry("lost?")])
    assert response.status_code == 503
    assert response.json()["type"] == "/problems/log-store-unavailable"
    assert response.headers["retry-after"] == "1"
    ready = await deck.api.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["log_store"]
