"""The "send test" action through the outbox to real local servers: each service's wire format."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from agentdeck.notify.outbox import enqueue
from agentdeck.notify.worker import Deliverer
from tests.conftest import Caller
from tests.notify.support import free_port, recording_server, server_tls_context

URL = "/api/v1/notification-channels"


async def _create(api: httpx.AsyncClient, admin: Caller, body: dict[str, Any]) -> str:
    r = await api.post(URL, json={"name": body["kind"], **body}, headers=admin.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _test(api: httpx.AsyncClient, admin: Caller, cid: str) -> dict[str, Any]:
    r = await api.post(f"{URL}/{cid}/test", headers=admin.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_webhook_sends_alertmanager_v4_json_with_a_verifiable_signature(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    with recording_server() as rec:
        cid = await _create(
            api,
            admin,
            {
                "kind": "webhook",
                "config": {"url": rec.url + "/am"},
                "secrets": {"signing_secret": "whsec-0123456789"},
            },
        )
        result = await _test(api, admin, cid)
    assert result["ok"] is True
    assert result["delivery"]["status"] == "success"
    assert result["delivery"]["response_code"] == 200
    assert result["delivery"]["event"] == "test"
    (req,) = rec.requests
    assert req.path == "/am"
    assert req.headers["content-type"] == "application/json"
    body = req.json()
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["truncatedAlerts"] == 0
    assert set(body) >= {"groupKey", "receiver", "groupLabels", "commonLabels", "alerts"}
    assert body["alerts"][0]["labels"]["alertname"] == "AgentdeckTest"
    assert body["agentdeck"]["event"] == "test"
    ts = req.headers["x-agentdeck-timestamp"]
    assert abs(int(ts) - time.time()) < 60
    expected = hmac.new(b"whsec-0123456789", ts.encode() + b"." + req.body, hashlib.sha256)
    assert req.headers["x-agentdeck-signature"] == "sha256=" + expected.hexdigest()
    channel = (await api.get(f"{URL}/{cid}", headers=admin.headers)).json()
    assert channel["last_test_ok"] is True


async def test_slack_blocks(api: httpx.AsyncClient, admin: Caller) -> None:
    with recording_server() as rec:
        cid = await _create(
            api, admin, {"kind": "slack", "secrets": {"webhook_url": rec.url + "/services/T/B/x"}}
        )
        assert (await _test(api, admin, cid))["ok"] is True
    (req,) = rec.requests
    assert req.path == "/services/T/B/x"
    body = req.json()
    assert body["text"] == "agentdeck test notification"
    (header,) = body["blocks"]
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#36C5F0"  # the test notification is severity info: blue
    section = attachment["blocks"][0]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "*AgentdeckTest*" in section["text"]["text"]


async def test_slack_colour_by_severity_and_green_once_resolved(
    api: httpx.AsyncClient, admin: Caller
) -> None:
    sessions, settings = api.app.state.deck.sessions, api.app.state.deck.settings  # type: ignore[attr-defined]
    cases = [
        ("firing", "critical", "#E01E5A"),  # red
        ("firing", "error", "#E8590C"),  # orange-red
        ("firing", "warning", "#ECB22E"),  # yellow
        ("firing", "info", "#36C5F0"),  # blue
        ("resolved", "critical", "#2EB67D"),  # green, whatever the severity
    ]
    with recording_server() as rec:
        cid = await _create(
            api, admin, {"kind": "slack", "secrets": {"webhook_url": rec.url + "/services/x"}}
        )
        async with sessions() as session:
            for n, (event, severity, _) in enumerate(cases):
                labels = {"alertname": f"Case{n}", "severity": severity}
                await enqueue(
                    session,
                    tenant_id=admin.tenant_id,
                    channel_id=uuid.UUID(cid),
                    event=event,
                    dedup_key=f"case-{n}",
                    payload={
                        "version": "4",
                        "status": event,
                        "commonLabels": labels,
                        "alerts": [{"status": event, "labels": labels}],
                        "agentdeck": {"event": event, "severity": severity},
                    },
                )
            await session.commit()
        worker = Deliverer(sessions=sessions, settings=settings)
        try:
            assert await worker.run_once() == len(cases)
        finally:
            await worker.close()
    colours = {}
    for req in rec.requests:
        (attachment,) = req.json()["attachments"]
        colours[attachment["blocks"][0]["text"]["text"].split("*")[1]] = attachment["color"]
    assert colours == {f"Case{n}": colour for n, (_, _, colour) in enumerate(cases)}


async def test_pagerduty_events_v2(api: httpx.AsyncClient, admin: Caller) -> None:
    with recording_server() as rec:
        rec.default_status = 202
        cid = await _create(
            api,
            admin,
            {
                "kind": "pagerduty",
                "config": {"events_url": rec.url + "/v2/enqueue", "source": "deck-test"},
                "secrets": {"routing_key": "R0UT1NGKEY0123456789abcdef012345"},
            },
        )
        result = await _test(api, admin, cid)
    assert result["ok"] is True and result["delivery"]["response_code"] == 202
    (req,) = rec.requests
    body = req.json()
    assert body["routing_key"] == "R0UT1NGKEY0123456789abcdef012345"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == f"test:{cid}"
    assert body["payload"]["source"] == "deck-test"
    assert body["payload"]["severity"] == "info"
    assert body["payload"]["summary"] == "agentdeck test notification"


async def test_teams_adaptive_card(api: httpx.AsyncClient, admin: Caller) -> None:
    with recording_server() as rec:
        cid = await _create(api, admin, {"kind": "teams", "secrets": {"webhook_url": rec.url}})
        assert (await _test(api, admin, cid))["ok"] is True
    body = rec.requests[0].json()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0]["text"] == "agentdeck test notification"


async def test_discord_embeds(api: httpx.AsyncClient, admin: Caller) -> None:
    with recording_server() as rec:
        rec.default_status = 204
        rec.body = b""
        cid = await _create(
            api,
            admin,
            {
                "kind": "discord",
                "config": {"username": "deck"},
                "secrets": {"webhook_url": rec.url},
            },
        )
        assert (await _test(api, admin, cid))["ok"] is True
    body = rec.requests[0].json()
    assert body["username"] == "deck"
    (embed,) = body["embeds"]
    assert embed["title"] == "agentdeck test notification"
    assert embed["fields"][0]["name"] == "AgentdeckTest"
    assert isinstance(embed["color"], int)


async def test_telegram_send_message(api: httpx.AsyncClient, admin: Caller) -> None:
    with recording_server() as rec:
        cid = await _create(
            api,
            admin,
            {
                "kind": "telegram",
                "config": {"chat_id": "-1001234567", "api_base_url": rec.url},
                "secrets": {"bot_token": "123456:ABC-def_ghi"},
            },
        )
        assert (await _test(api, admin, cid))["ok"] is True
    (req,) = rec.requests
    assert req.path == "/bot123456:ABC-def_ghi/sendMessage"
    body = req.json()
    assert body["chat_id"] == "-1001234567"
    assert body["parse_mode"] == "HTML"
    assert body["text"].startswith("<b>agentdeck test notification</b>")


async def test_ntfy_priority_and_token(api: httpx.AsyncClient, admin: Caller) -> None:
    with recording_server() as rec:
        cid = await _create(
            api,
            admin,
            {
                "kind": "ntfy",
                "config": {"server_url": rec.url, "topic": "deck-alerts"},
                "secrets": {"token": "tk_abcdef"},
            },
        )
        assert (await _test(api, admin, cid))["ok"] is True
    (req,) = rec.requests
    assert req.path == "/"
    assert req.headers["authorization"] == "Bearer tk_abcdef"
    body = req.json()
    assert body["topic"] == "deck-alerts"
    assert body["priority"] == 2  # info
    assert body["title"] == "agentdeck test notification"


async def test_failed_test_reports_the_error(api: httpx.AsyncClient, admin: Caller) -> None:
    with recording_server() as rec:
        rec.default_status = 403
        rec.body = b"invalid_token"
        cid = await _create(api, admin, {"kind": "slack", "secrets": {"webhook_url": rec.url}})
        result = await _test(api, admin, cid)
    assert result["ok"] is False
    assert result["delivery"]["status"] == "dead"
    assert result["delivery"]["response_code"] == 403
    assert result["delivery"]["error"] == "HTTP 403"  # what the delivery log shows everyone
    assert result["delivery"]["error_detail"] == "HTTP 403: invalid_token"  # admins
    channel = (await api.get(f"{URL}/{cid}", headers=admin.headers)).json()
    assert channel["last_test_ok"] is False


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope, message))
        return "250 OK"


def _authenticator(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"smtp-pass"
    return AuthResult(success=ok, handled=False)


async def test_email_over_starttls_with_login_sends_text_and_html(
    api: httpx.AsyncClient, admin: Caller, tmp_path: Path
) -> None:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls_context(tmp_path),
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        cid = await _create(
            api,
            admin,
            {
                "kind": "email",
                "config": {
                    "host": "127.0.0.1",
                    "port": port,
                    "security": "starttls",
                    "username": "deck",
                    "from_address": "deck@example.org",
                    "to": ["oncall@example.org", "lead@example.org"],
                    "verify_certificate": False,
                },
                "secrets": {"password": "smtp-pass"},
            },
        )
        result = await _test(api, admin, cid)
        assert result["ok"] is True, result
        # a wrong password is a permanent failure (5xx), reported as such
        await api.patch(
            f"{URL}/{cid}", json={"secrets": {"password": "wrong"}}, headers=admin.headers
        )
        bad = await _test(api, admin, cid)
    finally:
        controller.stop()
    assert bad["ok"] is False and bad["delivery"]["response_code"] == 535
    ((envelope, message),) = inbox.messages
    assert envelope.mail_from == "deck@example.org"
    assert envelope.rcpt_tos == ["oncall@example.org", "lead@example.org"]
    assert message["Subject"] == "agentdeck test notification"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and "AgentdeckTest" in text.get_content()
    assert html is not None and "<h2>agentdeck test notification</h2>" in html.get_content()
