"""Email over SMTP (aiosmtplib): STARTTLS, implicit TLS or plain; a text and an HTML part.

The SMTP host goes through the outbound policy: the connection is opened to a checked address,
and handed to aiosmtplib with the host name (for EHLO, SNI and the certificate check).
"""

from __future__ import annotations

import asyncio
import html
import ssl
from email.message import EmailMessage
from enum import StrEnum
from typing import Annotated, Any

import aiosmtplib
from pydantic import AfterValidator, Field

from agentdeck.notify.channels.base import (
    ChannelKindSpec,
    KindConfig,
    KindSecrets,
    SendContext,
    SendResult,
    failed,
    lines_of,
    refused,
    title_of,
    url_of,
)
from agentdeck.notify.channels.urls import check_host
from agentdeck.outbound import OutboundRefused, connect, excerpt


class Security(StrEnum):
    starttls = "starttls"
    tls = "tls"
    none = "none"


def _address(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain and domain != "localhost" or " " in value:
        raise ValueError(f"{value!r} is not an email address")
    return value


Address = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_address)]


class EmailConfig(KindConfig):
    host: Annotated[str, AfterValidator(check_host)] = Field(
        min_length=1, max_length=255, description="SMTP server host."
    )
    port: int = Field(587, ge=1, le=65535)
    security: Security = Field(Security.starttls, description="starttls, tls or none.")
    username: str | None = Field(None, max_length=255)
    from_address: Address
    to: list[Address] = Field(min_length=1, max_length=50)
    verify_certificate: bool = Field(True, description="Check the server's TLS certificate.")


class EmailSecrets(KindSecrets):
    password: str | None = Field(None, max_length=1024)


def render(message: dict[str, Any], config: EmailConfig) -> EmailMessage:
    title = title_of(message)
    lines = lines_of(message, limit=50)
    url = url_of(message)
    text = "\n".join([title, "", *lines] + (["", url] if url else []))
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    link = f'<p><a href="{html.escape(url, quote=True)}">Open in agentdeck</a></p>' if url else ""
    body_html = f"<html><body><h2>{html.escape(title)}</h2><ul>{items}</ul>{link}</body></html>"
    email = EmailMessage()
    email["Subject"] = title
    email["From"] = config.from_address
    email["To"] = ", ".join(config.to)
    email.set_content(text)
    email.add_alternative(body_html, subtype="html")
    return email


async def send(
    ctx: SendContext, message: dict[str, Any], config: EmailConfig, secrets: EmailSecrets
) -> SendResult:
    tls_context = ssl.create_default_context()
    if not config.verify_certificate:
        tls_context.check_hostname = False
        tls_context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(ctx.timeout):
            sock = await connect(ctx.policy, config.host, config.port)
    except OutboundRefused as exc:
        return refused(exc)
    except OSError as exc:  # timeouts included
        return failed(exc)
    try:
        client = aiosmtplib.SMTP(
            hostname=config.host,  # for EHLO, SNI and the certificate check
            sock=sock,  # connected to a checked address; the client's transport owns it now
            username=config.username,
            password=secrets.password if config.username else None,
            use_tls=config.security is Security.tls,
            start_tls=config.security is Security.starttls,
            tls_context=tls_context if config.security is not Security.none else None,
            timeout=ctx.timeout,
        )
    except Exception:
        sock.close()  # never handed to a transport
        raise
    try:
        async with client:
            await client.send_message(render(message, config))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        detail = "recipients refused: " + excerpt(str(exc))
        return SendResult(ok=False, error="recipients refused", detail=detail, permanent=True)
    except aiosmtplib.SMTPResponseException as exc:
        error = f"SMTP {exc.code}"
        return SendResult(
            ok=False,
            status_code=exc.code,
            error=error,
            detail=f"{error}: {excerpt(exc.message)}",
            permanent=exc.code >= 500,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return failed(exc)
    return SendResult(ok=True, status_code=250)


SPEC = ChannelKindSpec("email", "Email (SMTP)", EmailConfig, EmailSecrets, send)
