"""``agentdeck webhook listen``: a local receiver that prints the notifications it gets.

For trying alerting end to end without a real endpoint: point a webhook channel at
``http://127.0.0.1:PORT/`` and watch each notification arrive. One line per alert
(``firing|resolved ALERTNAME label=value ...``), or the raw body when it is not an
Alertmanager-style payload; every request is answered ``200``. ``--count N`` exits after N
notifications (handy in scripts), ``--timeout S`` after S seconds without one.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated, Any

import typer

webhook_app = typer.Typer(help="Try notifications locally.", no_args_is_help=True)

MAX_BODY = 10 * 1024 * 1024


def describe(body: bytes) -> list[str]:
    """The lines printed for one notification body."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return [body.decode("utf-8", "replace")]
    alerts = payload.get("alerts") if isinstance(payload, dict) else None
    if not isinstance(alerts, list) or not alerts:
        return [json.dumps(payload, sort_keys=True)]
    lines = []
    for alert in alerts:
        labels = dict(alert.get("labels") or {}) if isinstance(alert, dict) else {}
        name = labels.pop("alertname", "?")
        status = alert.get("status", payload.get("status", "?")) if isinstance(alert, dict) else "?"
        rest = " ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        lines.append(f"{status} {name} {rest}".rstrip())
    return lines


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        for line in describe(body):
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        self.server.received += 1

    do_PUT = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # the notifications themselves are the output


class _Server(HTTPServer):  # one request at a time: handle_request returns when it is done
    received = 0


@webhook_app.command("listen")
def listen(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    count: Annotated[
        int, typer.Option(min=0, help="Exit after this many notifications (0: never).")
    ] = 0,
    timeout: Annotated[
        float, typer.Option(min=0, help="Exit after this many seconds without one (0: never).")
    ] = 0,
) -> None:
    """Print every notification POSTed to http://HOST:PORT/ (one line per alert)."""
    server = _Server((host, port), _Handler)
    server.timeout = timeout or None
    typer.echo(f"listening on http://{host}:{server.server_address[1]}/", err=True)
    try:
        while not count or server.received < count:
            before = server.received
            server.handle_request()
            if timeout and server.received == before:
                typer.echo("no notification before the timeout", err=True)
                raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
