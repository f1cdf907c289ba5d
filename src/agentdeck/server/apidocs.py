"""The API reference page (``/docs``): Swagger UI from the files the UI build ships in the
package (``static/swagger/``, copied from the ``swagger-ui-dist`` npm package), no CDN.

FastAPI's page starts Swagger UI with one inline script; the page's Content-Security-Policy
allows that script by its hash and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

from agentdeck.server.middleware import content_security_policy

DOCS_PATH = "/docs"
ASSETS = "/swagger"


class _InlineScripts(HTMLParser):
    """Collects the text of every ``<script>`` without a ``src``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def inline_script_hashes(html: str) -> tuple[str, ...]:
    """The CSP source expressions (``sha256-...``) of the page's inline scripts."""
    parser = _InlineScripts()
    parser.feed(html)
    parser.close()
    return tuple(
        "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        for script in parser.scripts
    )


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (create the app with ``docs_url=None``; ReDoc is off)."""
    assert app.openapi_url is not None
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        # no badge fetched from the public validator service
        swagger_ui_parameters={"validatorUrl": None},
    )
    body = bytes(page.body)
    headers = {
        "Content-Security-Policy": content_security_policy(
            script_hashes=inline_script_hashes(body.decode())
        ),
        "Cache-Control": "no-cache",
    }

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(body, headers=headers)
