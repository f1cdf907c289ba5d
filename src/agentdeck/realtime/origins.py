"""Which browser pages may open the WebSocket: the ``Origin`` check."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.websockets import WebSocket

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int] | None:
    """An origin as (scheme, host, port), the default port filled in; None when it is not an
    ``http``/``https`` URL."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # a port that is not a number or out of range
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


class Origins:
    """The origins ``cors_origins`` allows, and this server's own."""

    def __init__(self, cors_origins: list[str]) -> None:
        self.cors_origins = cors_origins
        self.allowed = {origin_of(allowed) for allowed in cors_origins} - {None}

    def allow(self, websocket: WebSocket) -> bool:
        """A browser's ``Origin`` must be one of ``cors_origins`` or this server itself, the
        same scheme, host and port: an ``http://`` page may not open the socket of an
        ``https://`` server, nor the other way round. The server's scheme is the request's
        (``wss`` → ``https``; behind a TLS proxy, uvicorn takes it from ``X-Forwarded-Proto``
        when the proxy is in ``server.trusted_proxies``)."""
        origin = websocket.headers.get("origin")
        if origin is None:
            return True  # not a browser
        if "*" in self.cors_origins:
            return True
        presented = origin_of(origin)
        if presented is None:
            return False  # "null" (a sandboxed page, a file) or not a URL
        if presented in self.allowed:
            return True
        scheme = "https" if websocket.url.scheme in ("wss", "https") else "http"
        host = websocket.headers.get("host")
        return host is not None and presented == origin_of(f"{scheme}://{host}")
