"""POST /loki/api/v1/push: the real PyPI clients (python-logging-loki, loki-logger-handler)
against a running server, and snappy-compressed protobuf bodies built from push.proto."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import cramjam
import orjson
import zstandard
from logging_loki import LokiHandler
from loki_logger_handler.loki_logger_handler import LokiLoggerHandler

from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from agentdeck.logstore.logql import parse
from agentdeck.settings import Settings
from tests.conftest import Factory
from tests.ingest.otlp_support import live_server
from tests.logs.conftest import NS, Deck, now_ns
from tests.logs.test_decoders import push_request


async def _lines(app: object, tenant_id: object) -> list[object]:
    store = app.state.deck.log_store  # type: ignore[attr-defined]
    page = await store.search(
        tenant_id,
        parse(""),
        start_ns=now_ns() - 120 * NS,
        end_ns=now_ns() + NS,
        limit=100,
        direction="forward",
    )
    return list(page.records)


async def test_python_logging_loki(
    settings_factory: Callable[..., Settings], factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    app = create_app(settings_factory(loops={"enabled": False}), run_migrations=False)
    async with live_server(app) as url:
        handler = LokiHandler(
            url=f"{url}/loki/api/v1/push",
            tags={"service": "billing", "env": "prod"},
            auth=("tenant", key.api_key or ""),  # Basic auth, the API key as the password
            version="1",
        )
        logger = logging.getLogger("tests.logs.loki.one")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(handler)
        try:
            await asyncio.to_thread(logger.error, "invoice %s failed", "A-17")
            await asyncio.to_thread(logger.info, "retrying", extra={"tags": {"attempt": "2"}})
        finally:
            logger.removeHandler(handler)
            handler.close()
        records = await _lines(app, key.tenant_id)
    failed, retry = records
    assert (failed.service, failed.severity, failed.message) == (  # type: ignore[attr-defined]
        "billing",
        "ERROR",
        "invoice A-17 failed",
    )
    assert failed.labels["env"] == "prod"  # type: ignore[attr-defined]
    assert failed.labels["logger"] == "tests.logs.loki.one"  # type: ignore[attr-defined]
    assert retry.severity == "INFO"  # type: ignore[attr-defined]
    assert retry.labels["attempt"] == "2"  # type: ignore[attr-defined]


async def test_loki_logger_handler(
    settings_factory: Callable[..., Settings], factory: Factory
) -> None:
    key = await factory.api_key(Role.developer)
    app = create_app(settings_factory(loops={"enabled": False}), run_migrations=False)
    async with live_server(app) as url:
        handler = LokiLoggerHandler(
            url=f"{url}/loki/api/v1/push",
            labels={"application": "shop", "job": "shop-api"},
            label_keys={"level": "level"},  # the record's level becomes the level label
            additional_headers={"X-API-Key": key.api_key or ""},
            timeout=3600,  # flushed by close() below, not by its timer
            compressed=True,
            enable_self_errors=True,
        )
        logger = logging.getLogger("tests.logs.loki.two")
        logger.propagate = False
        logger.addHandler(handler)
        try:
            logger.warning("cart abandoned")
            logger.critical("payment provider down")
        finally:
            logger.removeHandler(handler)
            await asyncio.to_thread(handler._send)  # what its timer thread and atexit call
            handler.close()
        records = await _lines(app, key.tenant_id)
    assert len(records) == 2
    warned, down = records
    assert warned.service == "shop-api"  # type: ignore[attr-defined]
    assert warned.labels["application"] == "shop"  # type: ignore[attr-defined]
    assert "cart abandoned" in warned.message  # type: ignore[attr-defined]
    assert (warned.severity, down.severity) == ("WARNING", "CRITICAL")  # type: ignore[attr-defined]


async def test_snappy_protobuf_push(deck: Deck) -> None:
    t = now_ns() - 5 * NS
    raw = push_request(
        [
            (
                '{job="promtail", level="warn", host="h1"}',
                [(t, b"disk almost full", {"trace_id": "ab" * 16}), (t + 1, b"bytes \xff", {})],
            ),
            ('{job="promtail", level="loud"}', [(t + 2, b"refused", {})]),
        ]
    )
    response = await deck.api.post(
        "/loki/api/v1/push",
        content=bytes(cramjam.snappy.compress_raw(raw)),
        headers={**deck.ingest.headers, "Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 400  # one line refused, the others stored
    problem = response.json()
    assert problem["type"] == "/problems/entries-rejected"
    assert (problem["accepted"], problem["rejected"]) == (2, 1)
    assert problem["errors"][0]["loc"] == [2, "severity"]
    lines = await deck.search(direction="forward")
    assert [line["message"] for line in lines] == ["disk almost full", "bytes \ufffd"]
    assert lines[0]["service"] == "promtail" and lines[0]["severity"] == "WARNING"
    assert lines[0]["labels"] == {"host": "h1"} and lines[0]["trace_id"] == "ab" * 16


async def test_everything_stored_is_a_204(deck: Deck) -> None:
    body = orjson.dumps(
        {"streams": [{"stream": {"app": "web"}, "values": [[str(now_ns()), "hello"]]}]}
    )
    response = await deck.api.post(
        "/loki/api/v1/push",
        content=zstandard.ZstdCompressor().compress(body),
        headers={
            **deck.ingest.headers,
            "Content-Type": "application/json",
            "Content-Encoding": "zstd",
        },
    )
    assert response.status_code == 204, response.text
    raw = push_request([('{app="web"}', [(now_ns(), b"pb", {})])])
    response = await deck.api.post(
        "/loki/api/v1/push",
        content=bytes(cramjam.snappy.compress_raw(raw)),
        headers={
            **deck.ingest.headers,
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "snappy",
        },
    )
    assert response.status_code == 204, response.text
    assert await deck.messages('{service="web"}') == ["hello", "pb"]


async def test_bad_loki_bodies(deck: Deck) -> None:
    headers = deck.ingest.headers
    cases = [
        ("application/x-protobuf", b"not snappy at all", 400, "malformed-body"),
        (
            "application/x-protobuf",
            bytes(cramjam.snappy.compress_raw(b"\xff\xff")),
            400,
            "malformed-body",
        ),
        ("application/json", b'{"streams": 5}', 400, "malformed-body"),
        ("application/json", b"{", 400, "malformed-body"),
        ("text/plain", b"hello", 415, "unsupported-media-type"),
    ]
    for content_type, body, status, kind in cases:
        response = await deck.api.post(
            "/loki/api/v1/push",
            content=body,
            headers={**headers, "Content-Type": content_type},
        )
        assert response.status_code == status, (body, response.text)
        assert response.json()["type"] == f"/problems/{kind}"
    assert await deck.search() == []
