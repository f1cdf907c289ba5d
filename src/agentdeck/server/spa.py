"""Serves the built web UI with an SPA fallback that never answers API paths."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"
RESERVED_PREFIXES = ("/api/", "/v1/", "/metrics", "/healthz", "/readyz", "/docs", "/openapi.json")

NOT_BUILT = """<!doctype html><title>agentdeck</title>
<p>The web UI is not built. Run <code>make ui</code> (or <code>make run</code>) and reload.</p>
<p>The API is up: <a href="/openapi.json">/openapi.json</a> (its <code>/docs</code> page
uses files of the UI build too).</p>"""


def is_reserved(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in RESERVED_PREFIXES)


class SPAStaticFiles(StaticFiles):
    """Static files; unknown non-API paths get index.html so client-side routes work."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        full_path = scope["path"]
        if is_reserved(full_path):
            raise HTTPException(404)
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            response = FileResponse(Path(str(self.directory)) / "index.html")
            response.headers["Cache-Control"] = "no-cache"
            return response
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        elif response.status_code == 200:
            response.headers["Cache-Control"] = "no-cache"
        return response


class UINotBuilt:
    """Stands in for the UI when it was not built: a hint page, and 404 for API paths."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if is_reserved(scope["path"]):
            raise HTTPException(404)
        await HTMLResponse(NOT_BUILT, status_code=503)(scope, receive, send)
